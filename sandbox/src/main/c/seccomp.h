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
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/syscall.h>

#define X32_SYSCALL_BIT 0x40000000
/* CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET */
#define CLONE_NAMESPACE_FLAGS 0x7E020000

#define LOAD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))

/* Denied with EPERM. */
static const unsigned int denied_calls[] = {
    /* namespaces: unshare would make a user namespace (and capabilities in it); setns joins others */
    SYS_unshare, SYS_setns,
    /* the mount API, old and new: the instance's file system view is fixed by its launcher */
    SYS_mount, SYS_umount2, SYS_pivot_root, SYS_chroot, SYS_move_mount, SYS_open_tree, SYS_fsopen,
    SYS_fsmount, SYS_fsconfig, SYS_fspick, SYS_mount_setattr,
    /* reading or writing other processes, and comparing their kernel objects */
    SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_kcmp,
    /* kernel code and kernel programs */
    SYS_kexec_load, SYS_kexec_file_load, SYS_init_module, SYS_finit_module, SYS_delete_module, SYS_bpf,
    SYS_perf_event_open,
    /* kernel keyrings are not namespaced */
    SYS_keyctl, SYS_add_key, SYS_request_key,
    /* userfaultfd stalls kernel code at will (a classic exploit aid); the JVM does not use it */
    SYS_userfaultfd,
    /* io_uring: a large attack surface that seccomp cannot see into; the JVM does not use it */
    SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register,
    /* whole-machine state: swap, reboot, the kernel log, process accounting, clocks, quotas */
    SYS_swapon, SYS_swapoff, SYS_reboot, SYS_syslog, SYS_acct, SYS_settimeofday, SYS_clock_settime,
    SYS_adjtimex, SYS_clock_adjtime, SYS_quotactl,
    /* file handles bypass path lookup (a known container escape), I/O ports, obsolete calls */
    SYS_open_by_handle_at, SYS_name_to_handle_at, SYS_iopl, SYS_ioperm, SYS_uselib, SYS_vhangup,
    SYS_lookup_dcookie,
    /* watching the whole file system's events */
    SYS_fanotify_init,
};
#define DENIED_COUNT (sizeof denied_calls / sizeof denied_calls[0])
/* the head below, then at most two instructions per denied call and one per branch or leaf */
#define FILTER_MAX (16 + 4 * DENIED_COUNT)

static int compare_numbers(const void *a, const void *b) {
    unsigned int x = *(const unsigned int *) a, y = *(const unsigned int *) b;
    return x < y ? -1 : x > y;
}

/*
 * A binary search over the sorted denied numbers, from code[at]: a branch per halving, and leaves
 * of at most three comparisons, each followed by its own denial, then an allow. An allowed call
 * runs about ten instructions instead of a comparison per denied call. That matters on every cold
 * start: the kernel runs the filter once per system call number whenever a thread loads it (to
 * learn which calls it always allows), and CRIU loads it in every thread of every restored clone.
 * Returns the next free index, or 0 when a branch would jump further than BPF allows.
 */
static unsigned int emit_search(struct sock_filter *code, unsigned int at, const unsigned int *denied, unsigned int lo,
                                unsigned int hi) {
    if (hi - lo <= 3) {
        for (unsigned int i = lo; i < hi; i++) {
            code[at++] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, denied[i], 0, 1);
            code[at++] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
        }
        code[at++] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        return at;
    }
    unsigned int mid = lo + (hi - lo) / 2;
    unsigned int branch = at;
    unsigned int right = emit_search(code, at + 1, denied, lo, mid);
    if (right == 0 || right - branch - 1 > 255) {
        return 0;
    }
    code[branch] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, denied[mid], (unsigned char) (right - branch - 1), 0);
    return emit_search(code, right, denied, mid, hi);
}

/* Builds the filter into code (FILTER_MAX entries); returns its length, or 0 when it cannot be built. */
static unsigned int build_seccomp_filter(struct sock_filter *code) {
    struct sock_filter head[] = {
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
    };
    enum { HEAD = sizeof head / sizeof head[0] };
    unsigned int sorted[DENIED_COUNT];
    for (unsigned int i = 0; i < DENIED_COUNT; i++) {
        sorted[i] = denied_calls[i];
    }
    qsort(sorted, DENIED_COUNT, sizeof sorted[0], compare_numbers);
    for (unsigned int i = 0; i < HEAD; i++) {
        code[i] = head[i];
    }
    unsigned int len = emit_search(code, HEAD, sorted, 0, DENIED_COUNT);
    return len <= FILTER_MAX ? len : 0;
}

static int install_seccomp(void) {
    struct sock_filter filter[FILTER_MAX];
    unsigned int len = build_seccomp_filter(filter);
    if (len == 0) {
        errno = E2BIG;
        return -1;
    }
    struct sock_fprog prog = {.len = (unsigned short) len, .filter = filter};
    return (int) syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}
