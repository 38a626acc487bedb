package dev.thaw.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * An etcd server process the project starts itself: a one-member cluster on free loopback ports, for
 * tests and for a local cluster on one machine. It writes its log to {@code etcd.log} in its data
 * directory and can be stopped, killed (to simulate a crash), paused (a hung server) and restarted on
 * the same ports and data, so clients see the same endpoint come back with the same data.
 *
 * <pre>{@code
 * try (LocalEtcd etcd = LocalEtcd.start()) {            // temporary data directory, removed on close
 *     ClusterConfig config = ClusterConfig.builder().endpoints(etcd.clientEndpoint()).nodeId("n1").build();
 *     ...
 * }
 * }</pre>
 *
 * The binary is {@value #BINARY_PROPERTY} if that system property is set, else
 * {@code .thaw/etcd/bin/etcd} under the repository root (the nearest directory above the working
 * directory that holds {@code scripts/install-etcd.sh}), which {@code scripts/install-etcd.sh}
 * installs. Not thread-safe: one owner drives it.
 */
public final class LocalEtcd implements AutoCloseable {
    /** System property naming the etcd binary. */
    public static final String BINARY_PROPERTY = "thaw.etcd";
    private static final String INSTALL_HINT = "run scripts/install-etcd.sh";
    private static final String HOST = "127.0.0.1";

    private final Path binary;
    private final Path dataDir;
    private final boolean ownsDataDir;
    private final String name;
    private final Duration startTimeout;
    private final int clientPort;
    private final int peerPort;
    private Process process;
    private boolean paused;
    private boolean closed;
    private final Thread reaper;

    private LocalEtcd(Builder b, Path binary, Path dataDir, boolean owns, int clientPort, int peerPort) {
        this.binary = binary;
        this.dataDir = dataDir;
        this.ownsDataDir = owns;
        this.name = b.name;
        this.startTimeout = b.startTimeout;
        this.clientPort = clientPort;
        this.peerPort = peerPort;
        // a JVM that exits without close() (a test run cut short, a SIGTERM) still takes its etcd, and the
        // temporary directory it made, with it
        this.reaper = new Thread(this::reap, "thaw-local-etcd-reaper");
        Runtime.getRuntime().addShutdownHook(reaper);
    }

    /** Starts etcd with the default binary in a new temporary data directory, removed on {@link #close()}. */
    public static LocalEtcd start() {
        return builder().build();
    }

    /** @return a builder; every setting has a default */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The etcd binary to use: the {@value #BINARY_PROPERTY} system property, else
     * {@code .thaw/etcd/bin/etcd} under the repository root.
     *
     * @throws ClusterException naming where it looked, with the command that installs it, if there is none
     */
    public static Path defaultBinary() {
        String property = System.getProperty(BINARY_PROPERTY);
        Path start = Path.of("").toAbsolutePath();
        Path binary;
        if (property != null && !property.isBlank()) {
            binary = Path.of(property).toAbsolutePath();
        } else {
            Path root = start;
            while (root != null && !Files.isRegularFile(root.resolve("scripts/install-etcd.sh"))) {
                root = root.getParent();
            }
            if (root == null) {
                throw new ClusterException("no etcd binary: " + start + " is not inside thaw's repository and -D"
                        + BINARY_PROPERTY + " is not set; " + INSTALL_HINT + " in the repository or set -D" + BINARY_PROPERTY
                        + "=PATH", null);
            }
            binary = root.resolve(".thaw/etcd/bin/etcd");
        }
        if (!Files.isExecutable(binary)) {
            throw new ClusterException("no etcd binary at " + binary + ": " + INSTALL_HINT, null);
        }
        return binary;
    }

    /** @return the client URL, {@code http://127.0.0.1:PORT} (the same across restarts) */
    public URI clientEndpoint() {
        return URI.create("http://" + HOST + ":" + clientPort);
    }

    /** @return the peer URL */
    public URI peerEndpoint() {
        return URI.create("http://" + HOST + ":" + peerPort);
    }

    /** @return the directory holding etcd's data ({@code data/}, its {@code --data-dir}) and its log */
    public Path dataDir() {
        return dataDir;
    }

    /** @return the log file, {@code etcd.log} in the data directory (appended to across restarts) */
    public Path logFile() {
        return dataDir.resolve("etcd.log");
    }

    /** @return the process id of the running server */
    public long pid() {
        requireRunning("pid");
        return process.pid();
    }

    /** @return whether the process is alive (also while paused) */
    public boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** Stops the server with SIGTERM and waits for it to exit (SIGKILL after 10 s). */
    public void stop() {
        if (!isRunning()) {
            return;
        }
        resumeIfPaused();
        process.destroy();
        waitForExit(Duration.ofSeconds(10));
    }

    /** Kills the server with SIGKILL, as a crash would, and waits for it to exit. */
    public void kill() {
        if (!isRunning()) {
            return;
        }
        process.destroyForcibly();
        paused = false;
        waitForExit(Duration.ofSeconds(10));
    }

    /** Suspends the server with SIGSTOP: its sockets stay open and nothing answers, as with a hung server. */
    public void pause() {
        requireRunning("pause");
        signal("STOP");
        paused = true;
    }

    /** Continues a paused server with SIGCONT. */
    public void resume() {
        requireRunning("resume");
        signal("CONT");
        paused = false;
    }

    /** Starts the server again on the same ports and data directory, stopping it first if it runs. */
    public void restart() {
        if (closed) {
            throw new IllegalStateException("local etcd at " + clientEndpoint() + " is closed");
        }
        stop();
        launch();
    }

    /** Stops the server and removes the data directory if this instance created it. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            stop();
        } finally {
            destroyNow();
            if (ownsDataDir) {
                deleteTree(dataDir);
            }
            try {
                Runtime.getRuntime().removeShutdownHook(reaper);
            } catch (IllegalStateException e) {
                // shutting down already
            }
        }
    }

    @Override
    public String toString() {
        return "LocalEtcd[" + clientEndpoint() + ", " + dataDir + (isRunning() ? ", pid " + process.pid() : ", stopped") + "]";
    }

    // ---------------------------------------------------------------- internals

    private void launch() {
        List<String> cmd = new ArrayList<>(List.of(binary.toString(),
                "--name", name,
                "--data-dir", dataDir.resolve("data").toString(),
                "--listen-client-urls", clientEndpoint().toString(),
                "--advertise-client-urls", clientEndpoint().toString(),
                "--listen-peer-urls", peerEndpoint().toString(),
                "--initial-advertise-peer-urls", peerEndpoint().toString(),
                "--initial-cluster", name + "=" + peerEndpoint(),
                "--initial-cluster-state", "new",
                // one member, no one to compete with: a shorter election lets a restarted member lead
                // (and answer) in about half a second instead of one to two
                "--heartbeat-interval", "50",
                "--election-timeout", "500",
                "--logger", "zap",
                "--log-outputs", "stderr"));
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new ClusterException("cannot start etcd (" + binary + "): " + e.getMessage() + "; " + INSTALL_HINT, e);
        }
        paused = false;
        awaitHealthy();
    }

    private void awaitHealthy() {
        long deadline = System.nanoTime() + startTimeout.toNanos();
        String last = "no answer yet";
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new ClusterException("etcd exited with status " + process.exitValue() + " while starting on "
                        + clientEndpoint() + "; the end of its log (" + logFile() + "):\n" + logTail(), null);
            }
            try {
                HttpURLConnection c = (HttpURLConnection) clientEndpoint().resolve("/health").toURL().openConnection();
                c.setConnectTimeout(500);
                c.setReadTimeout(1000);
                try (InputStream in = c.getInputStream()) {
                    String body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                    if (body.replace(" ", "").contains("\"health\":\"true\"")) {
                        return;
                    }
                    last = "GET /health answered " + body.strip();
                } finally {
                    c.disconnect();
                }
            } catch (IOException e) {
                last = e.getClass().getSimpleName() + ": " + e.getMessage();
            }
            sleep(50);
        }
        destroyNow();
        throw new ClusterException("etcd did not become healthy on " + clientEndpoint() + " within " + startTimeout.toMillis()
                + " ms (" + last + "); the end of its log (" + logFile() + "):\n" + logTail(), null);
    }

    /** @return the last 20 lines of the log */
    String logTail() {
        try {
            List<String> lines = Files.readAllLines(logFile(), StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(log unreadable: " + e.getMessage() + ")";
        }
    }

    private void waitForExit(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    private void destroyNow() {
        Process p = process;
        if (p != null && p.isAlive()) {
            p.destroyForcibly();
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void reap() {
        destroyNow();
        if (ownsDataDir) {
            try {
                deleteTree(dataDir);
            } catch (UncheckedIOException e) {
                // exiting anyway
            }
        }
    }

    private void resumeIfPaused() {
        if (paused && isRunning()) {
            signal("CONT");
            paused = false;
        }
    }

    private void signal(String sig) {
        try {
            Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(process.pid())).redirectErrorStream(true).start();
            if (!k.waitFor(5, TimeUnit.SECONDS) || k.exitValue() != 0) {
                throw new ClusterException("kill -" + sig + " " + process.pid() + " failed: "
                        + new String(k.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip(), null);
            }
        } catch (IOException e) {
            throw new ClusterException("cannot send SIG" + sig + " to etcd (pid " + process.pid() + "): " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClusterException("interrupted while sending SIG" + sig + " to etcd", e);
        }
    }

    private void requireRunning(String what) {
        if (!isRunning()) {
            throw new IllegalStateException("cannot " + what + ": local etcd at " + clientEndpoint() + " is not running");
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClusterException("interrupted while waiting for etcd", e);
        }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + dir, e);
        }
    }

    /** Two distinct free loopback ports (held open together, so they differ). */
    private static int[] freePorts() {
        try (ServerSocket a = new ServerSocket(0, 1, InetAddress.getByName(HOST));
             ServerSocket b = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            return new int[] {a.getLocalPort(), b.getLocalPort()};
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find free loopback ports", e);
        }
    }

    /** Collects the settings of a local etcd. */
    public static final class Builder {
        private Path binary;
        private Path dataDir;
        private String name = "thaw-etcd";
        private Duration startTimeout = Duration.ofSeconds(20);

        private Builder() {
        }

        /** The etcd binary (default {@link #defaultBinary()}). */
        public Builder binary(Path value) {
            this.binary = value;
            return this;
        }

        /** The data directory, created if missing and kept on close (default: a new temporary one, removed on close). */
        public Builder dataDir(Path value) {
            this.dataDir = value;
            return this;
        }

        /** The member's name (default {@code thaw-etcd}). */
        public Builder name(String value) {
            this.name = Checks.id("etcd member name", value);
            return this;
        }

        /** How long to wait for {@code GET /health} to answer healthy (default 20 s). */
        public Builder startTimeout(Duration value) {
            this.startTimeout = Checks.atLeast("start timeout", value, Duration.ofMillis(100));
            return this;
        }

        /**
         * Starts the server and waits until it is healthy.
         *
         * @throws ClusterException naming the binary, the endpoint and the end of the log if it does not come up
         */
        public LocalEtcd build() {
            Path bin = binary != null ? binary : defaultBinary();
            if (!Files.isExecutable(bin)) {
                throw new ClusterException("no etcd binary at " + bin + ": " + INSTALL_HINT, null);
            }
            boolean owns = dataDir == null;
            Path dir;
            try {
                dir = owns ? Files.createTempDirectory("thaw-etcd-") : Files.createDirectories(dataDir);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create etcd's data directory", e);
            }
            ClusterException last = null;
            for (int attempt = 0; attempt < 3; attempt++) {
                int[] ports = freePorts();       // another process may take one before etcd binds it: try anew
                LocalEtcd etcd = new LocalEtcd(this, bin, dir, owns, ports[0], ports[1]);
                try {
                    etcd.launch();
                    return etcd;
                } catch (ClusterException e) {
                    last = e;
                    etcd.destroyNow();
                    Runtime.getRuntime().removeShutdownHook(etcd.reaper);
                    if (!e.getMessage().contains("address already in use")) {
                        break;
                    }
                    deleteTree(dir.resolve("data"));
                }
            }
            if (owns) {
                deleteTree(dir);
            }
            throw last;
        }
    }
}
