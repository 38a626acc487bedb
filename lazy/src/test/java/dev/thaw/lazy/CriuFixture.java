package dev.thaw.lazy;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.thaw.core.FileTrees;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Real CRIU, real processes: starts {@link LazyTarget} the way the node starts instances
 * ({@code unshare --pid --fork --kill-child setsid java ...}), dumps it, and restores clones with or
 * without lazy pages. Every process started here is killed with its whole tree by {@link #close()}
 * (or by the restore's own close).
 */
final class CriuFixture implements AutoCloseable {
    static final Path CRIU = Path.of(System.getProperty("thaw.criu", "../.thaw/criu/bin/criu")).toAbsolutePath().normalize();
    static final String TARGET_CLASS = LazyTarget.class.getName();
    static final int ARRAY_MB = 64;
    private static final Path JAVA = Path.of(System.getProperty("java.home"), "bin", "java");

    final Path root;
    final Path images;
    final Path commands;
    final Path targetLog;
    /** What the target wrote when ready: its checksums and its native region's address. */
    String readyLine;
    private final List<ProcessHandle> started = new ArrayList<>();

    private CriuFixture(Path root) {
        this.root = root;
        this.images = root.resolve("img");
        this.commands = root.resolve("cmd");
        this.targetLog = root.resolve("target.log");
    }

    /** Skips the calling test unless CRIU is there and we are root. */
    static void assumeCriu() {
        assumeTrue(Files.isExecutable(CRIU), "CRIU is not installed at " + CRIU + " (set -Dthaw.criu)");
        assumeTrue("root".equals(System.getProperty("user.name")), "CRIU needs root; these tests run as "
                + System.getProperty("user.name"));
    }

    /** Starts the target, dumps it into {@link #images} and kills it. */
    static CriuFixture dumpedTarget() throws Exception {
        CriuFixture f = new CriuFixture(Files.createTempDirectory(Path.of("/tmp"), "thaw-lazy-"));
        try {
            Files.createDirectories(f.commands);
            Files.createDirectories(f.images);
            ProcessHandle namespaceInit = f.startTarget();
            f.dump(namespaceInit.pid());
            f.killStarted();
            return f;
        } catch (Exception | Error e) {
            f.close();
            throw e;
        }
    }

    private ProcessHandle startTarget() throws Exception {
        List<String> cmd = new ArrayList<>(List.of("unshare", "--pid", "--fork", "--kill-child", "setsid", JAVA.toString(),
                "-XX:+UseSerialGC", "-Xms16m", "-Xmx256m", "-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=20",
                "-XX:-UsePerfData", "-XX:+DisableAttachMechanism", "--enable-native-access=ALL-UNNAMED",
                "-XX:+UnlockDiagnosticVMOptions", "-XX:ArchiveRelocationMode=0",
                "-XX:ErrorFile=" + root.resolve("hs_err_%p.log"),
                "-cp", Path.of("target/test-classes").toAbsolutePath().toString(), TARGET_CLASS,
                commands.toString(), Integer.toString(ARRAY_MB)));
        Process unshare = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(targetLog.toFile())).start();
        started.add(unshare.toHandle());
        Path ready = commands.resolve("ready");
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!Files.exists(ready)) {
            if (!unshare.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException("target did not get ready: " + Files.readString(targetLog));
            }
            Thread.sleep(20);
        }
        readyLine = Files.readString(ready).strip();
        ProcessHandle init = unshare.toHandle().children().findFirst()
                .orElseThrow(() -> new IllegalStateException("unshare has no child"));
        started.add(init);
        return init;
    }

    private void dump(long pid) throws Exception {
        Path log = root.resolve("dump.log");
        run(List.of(CRIU.toString(), "dump", "-t", Long.toString(pid), "-D", images.toString(), "-o", log.toString(),
                "-v2", "--leave-running", "--tcp-close"), log, Duration.ofSeconds(60));
    }

    private void run(List<String> cmd, Path log, Duration timeout) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(root.resolve("criu.out").toFile())).start();
        started.add(p.toHandle());
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IllegalStateException(cmd.get(1) + " failed: " + tail(log));
        }
    }

    /** Starts {@code criu restore} into {@code work}; lazily when asked, in which case a server must listen there. */
    Restore restore(Path work, boolean lazy) throws IOException {
        return restore(images, work, lazy);
    }

    /** Starts {@code criu restore} of the image in {@code imagesDir}. */
    Restore restore(Path imagesDir, Path work, boolean lazy) throws IOException {
        Files.createDirectories(work);
        List<String> cmd = new ArrayList<>(List.of(CRIU.toString(), "restore", "-D", imagesDir.toString(), "-W", work.toString(),
                "-o", work.resolve("restore.log").toString(), "-v2", "--tcp-close",
                "--pidfile", work.resolve("restored.pid").toString()));
        if (lazy) {
            cmd.add("--lazy-pages");
        }
        Process criu = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectErrorStream(true).redirectOutput(work.resolve("criu.out").toFile()).start();
        return new Restore(this, work, criu);
    }

    /** Makes a work directory (kept short: the socket path must fit in 107 bytes). */
    Path workDir(String name) {
        return root.resolve(name);
    }

    @Override
    public void close() {
        killStarted();
        FileTrees.delete(root);
    }

    private void killStarted() {
        for (ProcessHandle p : started) {
            killTree(p);
        }
        started.clear();
    }

    static void killTree(ProcessHandle root) {
        List<ProcessHandle> all = new ArrayList<>(root.descendants().toList());
        all.addFirst(root);
        all.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle p : all) {
            try {
                p.onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                // reported by the stray-process check
            }
        }
    }

    /** @return each thread of the process tree with its state and kernel stack, to see where it waits */
    static String threads(long pid) {
        StringBuilder out = new StringBuilder();
        List<ProcessHandle> all = new ArrayList<>();
        ProcessHandle.of(pid).ifPresent(p -> {
            all.add(p);
            all.addAll(p.descendants().toList());
        });
        for (ProcessHandle p : all) {
            try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(p.pid()), "task"))) {
                for (Path task : tasks.toList()) {
                    String stat = Files.readString(task.resolve("stat"));
                    String stack = Files.readString(task.resolve("stack")).replace("\n", " | ");
                    out.append(p.pid()).append('/').append(task.getFileName()).append(' ')
                            .append(stat, stat.indexOf('('), stat.indexOf(')') + 3).append(' ').append(stack).append('\n');
                }
            } catch (IOException | RuntimeException e) {
                out.append(p.pid()).append(": ").append(e).append('\n');
            }
        }
        return out.toString();
    }

    static String listing(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList().toString();
        } catch (IOException e) {
            return e.toString();
        }
    }

    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
        } catch (IOException e) {
            return "(no log " + log + ")";
        }
    }

    /** A restored clone: the criu process (its parent) and, once known, the clone's pid on the host. */
    static final class Restore implements AutoCloseable {
        final Path work;
        final Process criu;
        final long startNanos = System.nanoTime();
        private final CriuFixture fixture;
        private long pid = -1;

        Restore(CriuFixture fixture, Path work, Process criu) {
            this.fixture = fixture;
            this.work = work;
            this.criu = criu;
        }

        /** @return the restored root's pid on the host, once CRIU wrote it */
        long pid(Duration timeout) throws Exception {
            Path pidFile = work.resolve("restored.pid");
            long deadline = System.nanoTime() + timeout.toNanos();
            while (pid < 0) {
                String text = Files.exists(pidFile) ? Files.readString(pidFile).strip() : "";
                if (!text.isEmpty()) {
                    pid = Long.parseLong(text);
                } else if (!criu.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("criu restore did not write a pid file: "
                            + tail(work.resolve("restore.log")));
                } else {
                    Thread.sleep(0, 200_000);
                }
            }
            return pid;
        }

        /** Sends a command and waits for the answer. */
        String command(String command, Duration timeout) throws Exception {
            long me = pid(timeout);
            Path answer = fixture.commands.resolve("answer-" + me);
            Files.deleteIfExists(answer);
            LazyTarget.writeAtomically(fixture.commands.resolve("cmd-" + me), command);
            return awaitAnswer(timeout);
        }

        /** Waits for the answer to a command sent before (for example as {@code cmd-any}). */
        String awaitAnswer(Duration timeout) throws Exception {
            long me = pid(timeout);
            Path answer = fixture.commands.resolve("answer-" + me);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!Files.exists(answer)) {
                if (System.nanoTime() > deadline || !ProcessHandle.of(me).map(ProcessHandle::isAlive).orElse(false)) {
                    throw new IllegalStateException("no answer from pid " + me + " in " + work + ": "
                            + tail(work.resolve("restore.log")) + "\ncommands: " + listing(fixture.commands) + "\n" + threads(me));
                }
                Thread.sleep(0, 200_000);
            }
            return Files.readString(answer).strip();
        }

        /** @return whether an answer is there (without waiting) */
        boolean answered() {
            return pid > 0 && Files.exists(fixture.commands.resolve("answer-" + pid));
        }

        /** Kills the clone's pid namespace and CRIU, and waits for them. */
        @Override
        public void close() {
            if (pid > 0) {
                ProcessHandle.of(pid).ifPresent(CriuFixture::killTree);
            }
            killTree(criu.toHandle());
        }
    }
}
