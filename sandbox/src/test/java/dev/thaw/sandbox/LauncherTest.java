package dev.thaw.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.linux.Libc;
import dev.thaw.linux.NativeSpawn;
import dev.thaw.linux.NetworkNamespace;
import dev.thaw.linux.SpawnRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The launcher on its own: exit statuses, the lifeline, signals, one clear line per failure. */
class LauncherTest {
    private static SandboxFixture f;

    @BeforeAll
    static void open() throws Exception {
        SandboxFixture.assumeRoot();
        f = SandboxFixture.open();
    }

    @AfterAll
    static void close() {
        if (f != null) {
            f.close();
        }
    }

    /** Boots {@code program} in a fresh sandbox, with {@code lifeline} as the node's lifeline. */
    private static Process boot(String id, List<String> program, int lifeline) throws Exception {
        InstanceSandbox box = f.create(id, 128);
        SandboxCommand cmd = box.boot(program, "/");
        Path out = f.dataDir.resolve(id + ".out");
        return NativeSpawn.spawner().spawn(cmd.spawnRequest().descriptor(Launcher.LIFELINE_FD, lifeline)
                .environment(SandboxFixture.ENV).stdout(out).stderr(out).build());
    }

    private static String output(String id) throws Exception {
        return Files.readString(f.dataDir.resolve(id + ".out"));
    }

    @Test
    void exitsWithTheProgramsStatusOr128PlusItsSignal() throws Exception {
        int[] lifeline = Libc.pipe2(Libc.O_CLOEXEC);
        try {
            Process p = boot("status", List.of("/bin/sh", "-c", "exit 3"), lifeline[0]);
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isEqualTo(3);
            // pid 1 of a namespace cannot be killed from inside it: from the host, then
            Process killed = boot("killed", List.of("/bin/sleep", "60"), lifeline[0]);
            Libc.kill(awaitInit(killed), Libc.SIGKILL);
            assertThat(killed.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(killed.exitValue()).isEqualTo(128 + 9);
        } finally {
            Libc.close(lifeline[0]);
            Libc.close(lifeline[1]);
        }
    }

    @Test
    void aBrokenLifelineKillsTheInstanceAndOneBrokenBeforeTheStartStopsTheLauncher() throws Exception {
        int[] lifeline = Libc.pipe2(Libc.O_CLOEXEC);
        Process p = boot("lifeline", List.of("/bin/sleep", "60"), lifeline[0]);
        Libc.close(lifeline[0]);
        long pid1 = awaitInit(p);
        Libc.close(lifeline[1]); // the node is gone
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(128 + 9);
        assertThat(Files.exists(Path.of("/proc/" + pid1))).isFalse();

        int[] broken = Libc.pipe2(Libc.O_CLOEXEC);
        Libc.close(broken[1]);
        Process late = boot("late", List.of("/bin/sleep", "60"), broken[0]);
        Libc.close(broken[0]);
        assertThat(late.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(late.exitValue()).isEqualTo(202);
        assertThat(output("late")).isEqualTo("thaw-sandbox: lifeline: the node is gone\n");
        assertThat(LauncherExit.failedStep(202)).contains("the node's lifeline (the node is gone)");
        assertThat(LauncherExit.failedStep(232)).contains("making the ipc and uts namespaces");
        assertThat(LauncherExit.failedStep(233)).contains("joining the instance's ipc and uts namespaces");
    }

    @Test
    void forwardsTerminationSignalsToTheInstance() throws Exception {
        int[] lifeline = Libc.pipe2(Libc.O_CLOEXEC);
        try {
            Process p = boot("signal", List.of("/bin/sh", "-c", "trap 'exit 7' TERM; echo trapped; sleep 60 & wait"), lifeline[0]);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!output("signal").contains("trapped") && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            p.destroy(); // SIGTERM to the launcher
            assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isEqualTo(7);
        } finally {
            Libc.close(lifeline[0]);
            Libc.close(lifeline[1]);
        }
    }

    @Test
    void aFailureNamesItsStepAndReasonOnOneLine() throws Exception {
        int[] lifeline = Libc.pipe2(Libc.O_CLOEXEC);
        try {
            Process missing = boot("missing", List.of("/no/such/program"), lifeline[0]);
            assertThat(missing.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(missing.exitValue()).isEqualTo(227);
            assertThat(output("missing")).isEqualTo("thaw-sandbox: exec: /no/such/program: No such file or directory (errno 2)\n");
            assertThat(LauncherExit.failedStep(227)).contains("exec");
            assertThat(LauncherExit.failedStep(1)).isEmpty();

            InstanceSandbox box = f.create("nodir", 128);
            Path out = f.dataDir.resolve("nodir.out");
            Process noDir = NativeSpawn.spawner().spawn(box.boot(List.of("/bin/true"), "/no/such/dir").spawnRequest()
                    .descriptor(Launcher.LIFELINE_FD, lifeline[0]).stdout(out).stderr(out).build());
            assertThat(noDir.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(noDir.exitValue()).isEqualTo(225);
            assertThat(Files.readString(out)).isEqualTo("thaw-sandbox: chdir: /no/such/dir: No such file or directory (errno 2)\n");
        } finally {
            Libc.close(lifeline[0]);
            Libc.close(lifeline[1]);
        }
        Path out = f.dataDir.resolve("usage.out");
        Process usage = NativeSpawn.spawn(SpawnRequest.builder(List.of(launcher().toString(), "boot", "--root")).stdout(out).stderr(out).build());
        assertThat(usage.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(usage.exitValue()).isEqualTo(200);
        assertThat(Files.readString(out)).isEqualTo("thaw-sandbox: usage: --root\n");
    }

    @Test
    void execJoinsTheNetworkNamespaceItIsGiven() throws Exception {
        try (NetworkNamespace ns = NetworkNamespace.create()) {
            Path out = f.dataDir.resolve("exec.out");
            Process p = NativeSpawn.spawner().spawn(SpawnRequest.builder(List.of(launcher().toString(), "exec", "--netns-fd", "3", "--",
                    "/bin/readlink", "/proc/self/ns/net")).descriptor(3, ns.fd()).stdout(out).stderr(out).build());
            assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isZero();
            assertThat(Files.readString(out)).isEqualTo("net:[" + ns.inode() + "]\n");
        }
    }

    @Test
    void aParkedRestoreWaitsForItsCommandLineOrItsCancellation() throws Exception {
        InstanceSandbox box = f.create("parked", 128);
        Path err = f.dataDir.resolve("parked.err");
        ParkedRestore cancelled = box.parkRestore(Path.of("/dev/null"), Path.of("/dev/null"), err);
        // the launcher joins the cgroups itself, after its exec
        for (long end = System.nanoTime() + 10_000_000_000L; !box.processes().contains(cancelled.process().pid())
                && System.nanoTime() < end; ) {
            Thread.sleep(10);
        }
        assertThat(cancelled.process().isAlive()).as("waiting for its command line").isTrue();
        assertThat(box.processes()).as("in the instance's cgroup already").contains(cancelled.process().pid());
        cancelled.close();
        assertThat(cancelled.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(cancelled.process().exitValue()).isZero();

        Path out = f.dataDir.resolve("parked.out");
        ParkedRestore started = box.parkRestore(Path.of("/dev/null"), out, err);
        started.start(List.of("/bin/sh", "-c", "readlink /proc/self/ns/net; echo \"$0 $1\"", "with spaces", "and\nnewlines"));
        assertThat(started.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(started.process().exitValue()).isZero();
        assertThat(Files.readString(out)).isEqualTo("net:[" + box.networkNamespace() + "]\nwith spaces and\nnewlines\n");

        // a program started ahead that the command line does not start with is ended, and the command runs as it would have
        Path aheadOut = f.dataDir.resolve("parked-ahead.out");
        ParkedRestore other = box.parkRestore(Path.of("/dev/null"), aheadOut, err, List.of("/bin/sh", "-c", "echo ahead"));
        other.start(List.of("/bin/sh", "-c", "echo \"$0\"", "the command line"));
        assertThat(other.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(other.process().exitValue()).isZero();
        assertThat(Files.readString(aheadOut)).endsWith("the command line\n");

        ParkedRestore missing = box.parkRestore(Path.of("/dev/null"), Path.of("/dev/null"), err);
        missing.start(List.of("/no/such/criu"));
        assertThat(missing.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(missing.process().exitValue()).isEqualTo(227);
        assertThat(Files.readString(err)).isEqualTo("thaw-sandbox: exec: /no/such/criu: No such file or directory (errno 2)\n");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> missing.start(List.of("/bin/true")))
                .isInstanceOf(IllegalStateException.class);
    }

    /**
     * The node dies while CRIU restores: the thread that started the launcher ends (its parent-death
     * signal) and the lifeline breaks. A shell stands in for CRIU, with a task that has left it as
     * the restored root does (born elsewhere than CRIU's children): nothing of the restore may stay.
     */
    @Test
    void aNodeGoneMidRestoreLeavesNothingOfTheRestoreRunning() throws Exception {
        InstanceSandbox box = f.create("midrestore", 128);
        int[] lifeline = Libc.pipe2(Libc.O_CLOEXEC);
        dev.thaw.criu.Criu.Wrapper wrapper = box.restoreWrapper();
        List<String> command = new ArrayList<>(wrapper.command());
        command.addAll(List.of("/bin/sh", "-c", "setsid sleep 60 & sleep 60", "--pidfile", "/nonexistent"));
        Path out = f.dataDir.resolve("midrestore.out");
        SpawnRequest request = SpawnRequest.builder(command).descriptors(wrapper.descriptors())
                .descriptor(Launcher.LIFELINE_FD, lifeline[0]).environment(SandboxFixture.ENV).stdout(out).stderr(out).build();
        java.util.concurrent.CompletableFuture<Process> started = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.CountDownLatch nodeDies = new java.util.concurrent.CountDownLatch(1);
        Thread node = Thread.ofPlatform().start(() -> {
            try {
                started.complete(NativeSpawn.spawn(request));
                nodeDies.await();
            } catch (Exception e) {
                started.completeExceptionally(e);
            }
        });
        Process launcher = started.get(10, TimeUnit.SECONDS);
        Libc.close(lifeline[0]);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (box.processes().size() < 4 && System.nanoTime() < deadline) {
            Thread.sleep(10); // the launcher, the shell and its two sleeps
        }
        assertThat(box.processes()).as("the restore runs").hasSize(4);

        nodeDies.countDown();
        node.join();
        Libc.close(lifeline[1]);
        assertThat(launcher.waitFor(10, TimeUnit.SECONDS)).as("the launcher ends the restore").isTrue();
        assertThat(launcher.exitValue()).isEqualTo(202);
        assertThat(Files.readString(out)).isEqualTo("thaw-sandbox: lifeline: the node is gone: the restore was stopped\n");
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!box.processes().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(box.processes()).as("what the restore started").isEmpty();
        box.close();
    }

    @Test
    void theSelfCheckPasses() {
        assertThat(Launcher.check(launcher())).isEmpty();
    }

    private static Path launcher() {
        return ((NodeSandboxes) f.sandboxes).launcher;
    }

    private static long awaitInit(Process launcher) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            List<ProcessHandle> children = new ArrayList<>(launcher.toHandle().children().toList());
            if (!children.isEmpty()) {
                return children.getFirst().pid();
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no pid 1");
    }
}
