package dev.thaw.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's seccomp filter (src/main/c/seccomp.h), built by a small program that includes it:
 * its verdict for every system call number, read by running the program it builds in a classic BPF
 * interpreter here, and the kernel's answer to each denied call once the filter is loaded.
 */
class SeccompFilterTest {
    private static final int AUDIT_ARCH_X86_64 = 0xC000003E;
    private static final int AUDIT_ARCH_I386 = 0x40000003;
    private static final int ALLOW = 0x7FFF0000;
    private static final int KILL_PROCESS = 0x80000000;
    private static final int EPERM = 0x00050000 | 1;
    private static final int ENOSYS = 0x00050000 | 38;
    private static final int CLONE = 56;
    private static final int CLONE3 = 435;
    private static final int CLONE_NEWUSER = 0x10000000;
    private static final int CLONE_THREAD_FLAGS = 0x003D0F00; // what glibc's pthread_create passes

    /** x86-64 numbers of the calls the sandbox denies (the list in seccomp.h, written out independently). */
    private static final Map<String, Integer> DENIED = numbers("""
            unshare 272  setns 308  mount 165  umount2 166  pivot_root 155  chroot 161  move_mount 429
            open_tree 428  fsopen 430  fsmount 432  fsconfig 431  fspick 433  mount_setattr 442  ptrace 101
            process_vm_readv 310  process_vm_writev 311  kcmp 312  kexec_load 246  kexec_file_load 320
            init_module 175  finit_module 313  delete_module 176  bpf 321  perf_event_open 298  keyctl 250
            add_key 248  request_key 249  userfaultfd 323  io_uring_setup 425  io_uring_enter 426
            io_uring_register 427  swapon 167  swapoff 168  reboot 169  syslog 103  acct 163  settimeofday 164
            clock_settime 227  adjtimex 159  clock_adjtime 305  quotactl 179  open_by_handle_at 304
            name_to_handle_at 303  iopl 172  ioperm 173  uselib 134  vhangup 153  lookup_dcookie 212
            fanotify_init 300
            """);

    private static final String PROBE = """
            #define _GNU_SOURCE
            #include <errno.h>
            #include <stdio.h>
            #include <string.h>
            #include <sys/prctl.h>
            #include <unistd.h>
            #include "seccomp.h"
            int main(int argc, char **argv) {
                if (argc > 1 && strcmp(argv[1], "dump") == 0) {
                    struct sock_filter code[FILTER_MAX];
                    unsigned int len = build_seccomp_filter(code);
                    for (unsigned int i = 0; i < len; i++) {
                        printf("%u %u %u %u\\n", code[i].code, code[i].jt, code[i].jf, code[i].k);
                    }
                    return len == 0;
                }
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || install_seccomp()) {
                    perror("install");
                    return 1;
                }
                for (unsigned int i = 0; i < DENIED_COUNT; i++) {
                    long r = syscall(denied_calls[i], 0, 0, 0, 0, 0, 0);
                    printf("%u %d\\n", denied_calls[i], r == -1 ? errno : 0);
                }
                printf("getpid %d\\n", getpid() > 0 ? 0 : errno);
                return 0;
            }
            """;

    @TempDir
    static Path dir;

    @BeforeAll
    static void build() throws Exception {
        assumeTrue(run(List.of("gcc", "--version")).exit == 0, "gcc is not installed");
        Files.writeString(dir.resolve("probe.c"), PROBE);
        Result cc = run(List.of("gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-I", Path.of("src/main/c").toAbsolutePath().toString(),
                "-o", dir.resolve("probe").toString(), dir.resolve("probe.c").toString()));
        assertThat(cc.exit).as(cc.output).isZero();
    }

    @Test
    void everySystemCallNumberGetsTheVerdictTheSandboxPromises() throws Exception {
        int[][] filter = dump();

        for (int nr = 0; nr < 1024; nr++) {
            int expected = DENIED.containsValue(nr) ? EPERM : nr == CLONE3 ? ENOSYS : ALLOW;
            assertThat(verdict(filter, AUDIT_ARCH_X86_64, nr, 0)).as("system call %d", nr).isEqualTo(expected);
        }
    }

    @Test
    void cloneMayMakeThreadsAndProcessesButNoNamespace() throws Exception {
        int[][] filter = dump();

        assertThat(verdict(filter, AUDIT_ARCH_X86_64, CLONE, CLONE_THREAD_FLAGS)).isEqualTo(ALLOW);
        assertThat(verdict(filter, AUDIT_ARCH_X86_64, CLONE, 17)).as("fork: SIGCHLD only").isEqualTo(ALLOW);
        assertThat(verdict(filter, AUDIT_ARCH_X86_64, CLONE, CLONE_NEWUSER | 17)).isEqualTo(EPERM);
    }

    @Test
    void otherAbisAreRefusedOrKilled() throws Exception {
        int[][] filter = dump();

        assertThat(verdict(filter, AUDIT_ARCH_X86_64, 0x40000000, 0)).as("x32 read").isEqualTo(EPERM);
        assertThat(verdict(filter, AUDIT_ARCH_X86_64, 0x40000000 + 272, 0)).as("x32 unshare").isEqualTo(EPERM);
        assertThat(verdict(filter, AUDIT_ARCH_I386, 1, 0)).as("int 0x80").isEqualTo(KILL_PROCESS);
    }

    @Test
    void theKernelRefusesEveryDeniedCallOnceTheFilterIsLoaded() throws Exception {
        Result r = run(List.of(dir.resolve("probe").toString()));
        assertThat(r.exit).as(r.output).isZero();

        Map<String, String> answers = new HashMap<>();
        r.output.lines().map(l -> l.split(" ")).forEach(p -> answers.put(p[0], p[1]));
        for (Map.Entry<String, Integer> call : DENIED.entrySet()) {
            assertThat(answers.get(String.valueOf(call.getValue()))).as(call.getKey()).isEqualTo("1"); // EPERM
        }
        assertThat(answers).hasSize(DENIED.size() + 1).containsEntry("getpid", "0");
    }

    private static Map<String, Integer> numbers(String pairs) {
        String[] words = pairs.trim().split("\\s+");
        Map<String, Integer> numbers = new HashMap<>();
        for (int i = 0; i < words.length; i += 2) {
            numbers.put(words[i], Integer.parseInt(words[i + 1]));
        }
        return Map.copyOf(numbers);
    }

    private static int[][] dump() throws Exception {
        Result r = run(List.of(dir.resolve("probe").toString(), "dump"));
        assertThat(r.exit).as(r.output).isZero();
        return r.output.lines().map(l -> java.util.Arrays.stream(l.split(" ")).mapToInt(x -> (int) Long.parseLong(x)).toArray())
                .toArray(int[][]::new);
    }

    /** Runs the classic BPF program as the kernel would for one system call; returns its action. */
    private static int verdict(int[][] filter, int arch, int nr, int arg0) {
        int a = 0;
        int pc = 0;
        for (int steps = 0; steps < 10_000; steps++) {
            int[] insn = filter[pc];
            int code = insn[0];
            int jt = insn[1];
            int jf = insn[2];
            int k = insn[3];
            switch (code) {
                case 0x20 -> { // BPF_LD | BPF_W | BPF_ABS, an offset into struct seccomp_data
                    a = switch (k) {
                        case 0 -> nr;
                        case 4 -> arch;
                        case 16 -> arg0;
                        default -> throw new AssertionError("load of seccomp_data offset " + k);
                    };
                    pc++;
                }
                case 0x15 -> pc += 1 + (a == k ? jt : jf); // BPF_JMP | BPF_JEQ | BPF_K
                case 0x35 -> pc += 1 + (Integer.compareUnsigned(a, k) >= 0 ? jt : jf); // BPF_JGE
                case 0x45 -> pc += 1 + ((a & k) != 0 ? jt : jf); // BPF_JSET
                case 0x06 -> { // BPF_RET | BPF_K
                    return k;
                }
                default -> throw new AssertionError("instruction " + code + " at " + pc);
            }
        }
        throw new AssertionError("the filter did not return");
    }

    private record Result(int exit, String output) {
    }

    private static Result run(List<String> command) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).start();
        } catch (IOException e) {
            return new Result(-1, e.getMessage());
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out);
    }
}
