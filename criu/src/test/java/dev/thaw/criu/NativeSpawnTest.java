package dev.thaw.criu;

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
        // signal dispositions as a child of ProcessBuilder gets them (glibc keeps its own two internal ones)
        Process reference = new ProcessBuilder("/bin/sh", "-c", "grep -E '^SigIgn' /proc/self/status")
                .redirectOutput(dir.resolve("reference").toFile()).start();
        assertThat(reference.waitFor()).isZero();
        assertThat(lines).contains(Files.readString(dir.resolve("reference")).strip());
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
}
