/*
 * The seccomp filter of thaw's function instances (x86-64 only).
 *
 * The instance already runs as an unprivileged user with no capabilities in namespaces of its own,
 * so most calls denied here would fail anyway. The filter is there to shrink the kernel's attack
 * surface: it refuses the calls that only matter to an attacker (the namespace and mount calls a
 * process without capabilities may still make, io_uring, bpf, userfaultfd, keyrings, ...), so that
 * a kernel bug behind one of them is out of a hostile function's reach. Nothing a JVM or a shell
 * script needs is on the list: threads and processes (clone without namespace flags, fork, vfork,
 * execve), files, sockets, signals, timers, memory (mmap, madvise, membarrier, mbind) all pass.
 *
 * Denied calls fail with EPERM, as they would without the capability they need, except clone3,
 * which fails with ENOSYS: its flags live in memory a filter cannot read, and glibc (2.34+) falls
 * back to clone when clone3 is missing, so threads and child processes keep working. Another
 * architecture's system calls (32-bit int 0x80, x32) never run: the process is killed.
 *
 * CRIU dumps and restores the filter with the process: clones run under it too.
 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/syscall.h>

#define X32_SYSCALL_BIT 0x40000000
/* CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET */
#define CLONE_NAMESPACE_FLAGS 0x7E020000

#define LOAD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define DENY(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)

static int install_seccomp(void) {
    struct sock_filter filter[] = {
        /* x86-64 calls only; anything else kills the process */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        LOAD_NR,
        /* the x32 ABI shares the architecture value: refuse its numbers */
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        /* clone3's flags are out of the filter's sight: ENOSYS makes glibc use clone instead */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        /* clone making new namespaces (a user namespace would hand the function capabilities in it) */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NAMESPACE_FLAGS, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        LOAD_NR,
        /* namespaces: unshare would make a user namespace (and capabilities in it); setns joins others */
        DENY(SYS_unshare), DENY(SYS_setns),
        /* the mount API, old and new: the instance's file system view is fixed by its launcher */
        DENY(SYS_mount), DENY(SYS_umount2), DENY(SYS_pivot_root), DENY(SYS_chroot),
        DENY(SYS_move_mount), DENY(SYS_open_tree), DENY(SYS_fsopen), DENY(SYS_fsmount), DENY(SYS_fsconfig),
        DENY(SYS_fspick), DENY(SYS_mount_setattr),
        /* reading or writing other processes, and comparing their kernel objects */
        DENY(SYS_ptrace), DENY(SYS_process_vm_readv), DENY(SYS_process_vm_writev), DENY(SYS_kcmp),
        /* kernel code and kernel programs */
        DENY(SYS_kexec_load), DENY(SYS_kexec_file_load), DENY(SYS_init_module), DENY(SYS_finit_module),
        DENY(SYS_delete_module), DENY(SYS_bpf), DENY(SYS_perf_event_open),
        /* kernel keyrings are not namespaced */
        DENY(SYS_keyctl), DENY(SYS_add_key), DENY(SYS_request_key),
        /* userfaultfd stalls kernel code at will (a classic exploit aid); the JVM does not use it */
        DENY(SYS_userfaultfd),
        /* io_uring: a large attack surface that seccomp cannot see into; the JVM does not use it */
        DENY(SYS_io_uring_setup), DENY(SYS_io_uring_enter), DENY(SYS_io_uring_register),
        /* whole-machine state: swap, reboot, the kernel log, process accounting, clocks, quotas */
        DENY(SYS_swapon), DENY(SYS_swapoff), DENY(SYS_reboot), DENY(SYS_syslog), DENY(SYS_acct),
        DENY(SYS_settimeofday), DENY(SYS_clock_settime), DENY(SYS_adjtimex), DENY(SYS_clock_adjtime),
        DENY(SYS_quotactl),
        /* file handles bypass path lookup (a known container escape), I/O ports, obsolete calls */
        DENY(SYS_open_by_handle_at), DENY(SYS_name_to_handle_at), DENY(SYS_iopl), DENY(SYS_ioperm),
        DENY(SYS_uselib), DENY(SYS_vhangup), DENY(SYS_lookup_dcookie),
        /* watching the whole file system's events */
        DENY(SYS_fanotify_init),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = (unsigned short) (sizeof filter / sizeof filter[0]), .filter = filter};
    return (int) syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}
