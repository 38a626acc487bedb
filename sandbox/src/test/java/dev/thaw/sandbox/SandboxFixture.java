package dev.thaw.sandbox;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.thaw.criu.Criu;
import dev.thaw.criu.CriuStatus;
import dev.thaw.linux.Libc;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * A node's sandboxes on a temporary data directory, the probe's classes as a function's code, and
 * everything started in them: {@link #close()} kills and removes it all, also when a test failed.
 */
final class SandboxFixture implements AutoCloseable {
    static final Path CRIU = Path.of(System.getProperty("thaw.criu", "../.thaw/criu/bin/criu")).toAbsolutePath().normalize();
    static final Path JAVA = Path.of(System.getProperty("java.home"), "bin", "java");
    static final Map<String, String> ENV = Map.of("PATH", "/usr/local/bin:/usr/bin:/bin", "LANG", "C.UTF-8", "HOME", "/tmp", "TZ", "UTC");
    private static Criu criu;

    final Path dataDir;
    final Path code;
    final Sandboxes sandboxes;
    private final List<AutoCloseable> started = new ArrayList<>();

    private SandboxFixture(Path dataDir, Path code, Sandboxes sandboxes) {
        this.dataDir = dataDir;
        this.code = code;
        this.sandboxes = sandboxes;
    }

    /** Skips the calling test unless this runs as root. */
    static void assumeRoot() {
        assumeTrue(Libc.geteuid() == 0, "the sandbox needs root; these tests run as uid " + Libc.geteuid());
    }

    /** Skips the calling test unless CRIU is installed and works; else returns it. */
    static synchronized Criu assumeCriu() {
        assumeRoot();
        assumeTrue(Files.isExecutable(CRIU), "CRIU is not installed at " + CRIU + " (set -Dthaw.criu)");
        if (criu == null) {
            CriuStatus status = Criu.probe(Optional.of(CRIU));
            assumeTrue(status.available(), status.reason());
            criu = Criu.open(status, CRIU);
        }
        return criu;
    }

    static SandboxFixture open() throws IOException {
        return open(b -> b);
    }

    static SandboxFixture open(UnaryOperator<SandboxConfig.Builder> configure) throws IOException {
        assumeRoot();
        Path dataDir = Files.createTempDirectory(Path.of("/tmp"), "thaw-sandbox-test-");
        try {
            Path code = codeDir(dataDir.resolve("functions/probe"));
            Files.createDirectories(dataDir.resolve("runtime"));
            Sandboxes sandboxes = Sandboxes.open(configure.apply(SandboxConfig.builder(dataDir)).build());
            return new SandboxFixture(dataDir, code, sandboxes);
        } catch (IOException | RuntimeException | Error e) {
            deleteQuietly(dataDir);
            throw e;
        }
    }

    /** @return a function's code directory holding the probe's class, world-readable as a node's code is */
    static Path codeDir(Path dir) throws IOException {
        Path classes = Path.of("target/test-classes").toAbsolutePath();
        Path target = dir.resolve("dev/thaw/sandbox");
        Files.createDirectories(target);
        try (Stream<Path> s = Files.list(classes.resolve("dev/thaw/sandbox"))) {
            for (Path c : s.filter(p -> p.getFileName().toString().startsWith("SandboxProbe")).toList()) {
                Files.copy(c, target.resolve(c.getFileName()));
            }
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.toList()) {
                Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString(
                        Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        return dir;
    }

    /** @return the probe's JVM command line, as the instance sees it */
    static List<String> probeCommand(int heapMb) {
        return List.of(JAVA.toString(), "-XX:-UsePerfData", "-XX:+UseSerialGC", "-Xms16m", "-Xmx" + heapMb + "m",
                "-XX:TieredStopAtLevel=1", "-XX:+UnlockDiagnosticVMOptions", "-XX:ArchiveRelocationMode=0",
                "--enable-native-access=ALL-UNNAMED", "-cp", SandboxConfig.CODE_INSIDE, SandboxProbe.class.getName());
    }

    InstanceSandbox create(String id, int memoryMb) {
        InstanceSandbox box = sandboxes.create(new InstanceSpec(id, "probe", memoryMb, code, 8));
        started.add(box);
        return box;
    }

    /** Boots the probe in {@code box} and waits for it to be ready. */
    ProbeInstance boot(InstanceSandbox box, int heapMb) throws IOException {
        ProbeInstance p = ProbeInstance.boot(box, probeCommand(heapMb));
        started.add(p);
        p.awaitReady();
        return p;
    }

    /** Restores a clone of {@code images} in {@code box}. */
    ProbeInstance restore(InstanceSandbox box, Path images, Path work, List<String> pipes) throws IOException {
        ProbeInstance p = ProbeInstance.restore(assumeCriu(), box, images, work, pipes);
        started.add(p);
        return p;
    }

    void track(AutoCloseable c) {
        started.add(c);
    }

    @Override
    public void close() {
        for (AutoCloseable c : started.reversed()) {
            try {
                c.close();
            } catch (Exception e) {
                e.printStackTrace();
            }
        }
        sandboxes.close();
        deleteQuietly(dataDir);
    }

    static void deleteQuietly(Path dir) {
        try {
            Layout.deleteTree(dir);
        } catch (IOException | RuntimeException e) {
            System.err.println("cannot delete " + dir + ": " + e);
        }
    }
}
