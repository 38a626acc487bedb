package dev.thaw.linux;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Processes started with posix_spawn behave as ProcessBuilder's: streams, exit values, descriptors, signals. */
class NativeSpawnTest {

    @Test
    void isAvailableOnThisProjectsMachines() {
        assertThat(NativeSpawn.available()).as("glibc 2.34+ with native access").isTrue();
    }

    @Test
    void redirectsTheStreamsAndReportsTheExitCode(@TempDir Path dir) throws Exception {
        Path in = Files.writeString(dir.resolve("in"), "hello\n");
        Process p = NativeSpawn.spawn(List.of("/bin/sh", "-c", "read x; echo got $x; echo oops >&2; echo $THAW_SPAWN_TEST; exit 3"),
                in, dir.resolve("out"), dir.resolve("err"));
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(3);
        assertThat(p.isAlive()).isFalse();
        assertThat(p.onExit().get(1, TimeUnit.SECONDS)).isSameAs(p);
        assertThat(Files.readString(dir.resolve("out"))).startsWith("got hello\n");
        assertThat(Files.readString(dir.resolve("err"))).isEqualTo("oops\n");
    }

    @Test
    void givesTheChildOnlyItsStandardStreamsAnEmptySignalMaskAndTheNodesEnvironment(@TempDir Path dir) throws Exception {
        // a descriptor the JVM holds open without close-on-exec must not reach the child
        try (var held = new java.io.RandomAccessFile(Files.writeString(dir.resolve("held"), "x").toFile(), "r")) {
            Process p = NativeSpawn.spawn(List.of("/bin/sh", "-c",
                    "ls /proc/self/fd; grep -E '^Sig(Blk|Ign)' /proc/self/status; echo PATH=$PATH"),
                    Path.of("/dev/null"), dir.resolve("out"), dir.resolve("err"));
            assertThat(p.waitFor()).isZero();
        }
        List<String> lines = Files.readAllLines(dir.resolve("out"));
        // 0-2, plus the descriptor ls opens to list them
        assertThat(lines.stream().filter(l -> l.matches("\\d+")).map(Integer::parseInt).filter(fd -> fd > 3)).isEmpty();
        assertThat(lines).contains("SigBlk:\t0000000000000000", "PATH=" + System.getenv("PATH"));
        // every standard signal at its default disposition, even one the node ignores (a node started under
        // nohup ignores SIGHUP; a ProcessBuilder child would inherit that); glibc keeps its two internal ones
        long ignored = lines.stream().filter(l -> l.startsWith("SigIgn:")).mapToLong(l -> Long.parseUnsignedLong(
                l.substring("SigIgn:".length()).strip(), 16)).findFirst().orElseThrow();
        assertThat(ignored & 0x7fff_ffffL).as("standard signals ignored in the child, as a bit set").isZero();
    }

    @Test
    void destroyForciblyKillsAndTheExitValueSaysWhichSignal(@TempDir Path dir) throws Exception {
        Process p = NativeSpawn.spawn(List.of("/bin/sleep", "30"), Path.of("/dev/null"), dir.resolve("out"), dir.resolve("err"));
        assertThat(p.isAlive()).isTrue();
        assertThat(p.toHandle().pid()).isEqualTo(p.pid());
        p.destroyForcibly();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(128 + 9);
        assertThat(ProcessHandle.of(p.pid()).map(ProcessHandle::isAlive).orElse(false)).as("reaped, no zombie").isFalse();
    }

    @Test
    void namesWhatCouldNotBeOpenedOrStarted(@TempDir Path dir) {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> NativeSpawn.spawn(List.of("/bin/true"),
                dir.resolve("missing"), dir.resolve("out"), dir.resolve("err")))
                .isInstanceOf(java.io.IOException.class).hasMessageContaining("cannot open " + dir.resolve("missing") + ": No such file or directory (errno 2)");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> NativeSpawn.spawn(List.of(dir.resolve("nope").toString()),
                Path.of("/dev/null"), dir.resolve("out"), dir.resolve("err")))
                .isInstanceOf(java.io.IOException.class).hasMessageContaining("cannot start " + dir.resolve("nope") + ": No such file or directory (errno 2)");
    }

    @Test
    void passesChosenDescriptorsAtChosenNumbersAndClosesTheRest(@TempDir Path dir) throws Exception {
        int[] first = Libc.pipe2(Libc.O_CLOEXEC);
        int[] second = Libc.pipe2(Libc.O_CLOEXEC);
        try {
            // the child gets the first pipe's write end as fd 5 and the second's as fd 3; fd 4 stays closed
            Process p = NativeSpawn.spawn(SpawnRequest.builder(List.of("/bin/sh", "-c",
                            "echo five >&5; echo three >&3; ls /proc/$$/fd; echo four >&4 || echo no-four"))
                    .stdout(dir.resolve("out")).stderr(dir.resolve("err"))
                    .descriptor(5, first[1]).descriptor(3, second[1]).build());
            assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isZero();
            Libc.close(first[1]);
            Libc.close(second[1]);
            first[1] = -1;
            second[1] = -1;
            assertThat(Files.readString(Path.of("/proc/self/fd/" + first[0]))).isEqualTo("five\n");
            assertThat(Files.readString(Path.of("/proc/self/fd/" + second[0]))).isEqualTo("three\n");
            List<String> out = Files.readAllLines(dir.resolve("out"));
            assertThat(out).contains("no-four");
            // the shell's own descriptors: 0-2, 3 and 5, nothing else
            assertThat(out.stream().filter(l -> l.matches("\\d+")).map(Integer::parseInt)).containsExactlyInAnyOrder(0, 1, 2, 3, 5);
        } finally {
            for (int fd : new int[] {first[0], first[1], second[0], second[1]}) {
                if (fd >= 0) {
                    Libc.close(fd);
                }
            }
        }
    }

    @Test
    void movesDescriptorsWhoseNumbersAreAlsoTargets(@TempDir Path dir) throws Exception {
        // the worst case: the child's fd 3 is this process's fd 4 and the other way round
        int[] a = Libc.pipe2(Libc.O_CLOEXEC);
        int[] b = Libc.pipe2(Libc.O_CLOEXEC);
        try {
            Process p = NativeSpawn.spawn(SpawnRequest.builder(List.of("/bin/sh", "-c", "echo to-three >&3; echo to-four >&4"))
                    .stdout(dir.resolve("out")).stderr(dir.resolve("err"))
                    .descriptor(3, b[1]).descriptor(4, a[1]).descriptor(6, b[1]).descriptor(7, a[1]).build());
            assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isZero();
            Libc.close(a[1]);
            Libc.close(b[1]);
            a[1] = -1;
            b[1] = -1;
            assertThat(Files.readString(Path.of("/proc/self/fd/" + b[0]))).isEqualTo("to-three\n");
            assertThat(Files.readString(Path.of("/proc/self/fd/" + a[0]))).isEqualTo("to-four\n");
        } finally {
            for (int fd : new int[] {a[0], a[1], b[0], b[1]}) {
                if (fd >= 0) {
                    Libc.close(fd);
                }
            }
        }
    }

    @Test
    void startsInTheGivenDirectoryWithTheGivenEnvironmentOnly(@TempDir Path dir) throws Exception {
        Process p = NativeSpawn.spawn(SpawnRequest.builder(List.of("/bin/sh", "-c", "pwd; env | sort"))
                .environment(java.util.Map.of("ONLY", "this")).directory(dir).stdout(dir.resolve("out")).build());
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        List<String> out = Files.readAllLines(dir.resolve("out"));
        assertThat(out.getFirst()).isEqualTo(dir.toString());
        // sh adds PWD (and may add SHLVL, _); nothing of this JVM's environment
        assertThat(out.subList(1, out.size())).contains("ONLY=this").noneMatch(l -> l.startsWith("PATH=") || l.startsWith("HOME="));

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> NativeSpawn.spawn(SpawnRequest.builder(List.of("/bin/true"))
                        .directory(dir.resolve("missing")).build()))
                .isInstanceOf(java.io.IOException.class).hasMessageContaining("in " + dir.resolve("missing") + ": No such file or directory");
    }

    @Test
    void aSpawnersChildrenOutliveTheThreadsThatAskedForThem(@TempDir Path dir) throws Exception {
        // a parent-death signal fires when the spawning thread ends, not the spawning process; each child
        // says when it has armed its signal, and the asking thread ends only then (else there is no race to lose)
        Process[] children = new Process[2];
        try (Spawner spawner = Spawner.create("test-spawner")) {
            Thread caller = Thread.ofPlatform().start(() -> {
                try {
                    children[0] = spawner.spawn(SpawnRequest.builder(armed(dir, "through-spawner", "0.5"))
                            .stdout(dir.resolve("through-spawner")).build());
                    children[1] = NativeSpawn.spawn(SpawnRequest.builder(armed(dir, "from-caller", "30"))
                            .stdout(dir.resolve("from-caller")).build());
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                    while (!(Files.exists(dir.resolve("through-spawner.armed")) && Files.exists(dir.resolve("from-caller.armed")))
                            && System.nanoTime() < deadline) {
                        Thread.sleep(5);
                    }
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            caller.join();
            assertThat(children[0].waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(children[1].waitFor(10, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(children[0].exitValue()).isZero();
        assertThat(Files.readString(dir.resolve("through-spawner"))).isEqualTo("alive\n");
        assertThat(children[1].exitValue()).as("killed when its spawning thread ended").isEqualTo(128 + 9);
    }

    /**
     * A child that arms its parent-death signal, says so in NAME.armed, then lives {@code seconds}
     * more (the one expected to be killed long enough for its asking thread to end, however slowly).
     */
    private static List<String> armed(Path dir, String name, String seconds) {
        return List.of("/usr/bin/setpriv", "--pdeathsig", "KILL", "/bin/sh", "-c",
                "touch '" + dir.resolve(name + ".armed") + "'; sleep " + seconds + "; echo alive");
    }

    @Test
    void theSharedSpawnerIsOneLongLivedThread() throws Exception {
        assertThat(NativeSpawn.spawner()).isSameAs(NativeSpawn.spawner());
        Process p = NativeSpawn.spawner().spawn(SpawnRequest.builder(List.of("/bin/true")).build());
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
    }

    @Test
    void refusesStandardStreamsAsExtraDescriptors() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> SpawnRequest.builder(List.of("/bin/true")).descriptor(1, 7).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("fds 0-2 are the standard streams");
    }
}
