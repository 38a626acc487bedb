package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.client.InvocationResult;
import dev.thaw.client.ThawClient;
import dev.thaw.core.FileTrees;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.FunctionManifest;
import dev.thaw.node.Node;
import dev.thaw.node.NodeConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A real node for a test class: its own data directory and port, the runtime JAR and function
 * JARs the reactor built, the project's CRIU. {@link #close()} stops the node and checks that no
 * process it started is left running.
 */
final class TestNode implements AutoCloseable {
    private static final Duration POLL = Duration.ofMillis(100);
    static final Path FUNCTIONS = Path.of(System.getProperty("thaw.it.functions", "target/functions"));
    static final Path TEST_FUNCTIONS = FUNCTIONS.resolve("thaw-testfunctions.jar");
    static final String TF = "dev.thaw.testfunctions.";

    final Path dataDir;
    final Node node;
    final ThawClient client;

    TestNode() throws IOException {
        this(true);
    }

    TestNode(boolean snapshots) throws IOException {
        this(snapshots, Duration.ofMinutes(5), 100);
    }

    TestNode(boolean snapshots, Duration keepAlive, int queueLimit) throws IOException {
        this(Files.createTempDirectory("thaw-it-"), snapshots, keepAlive, queueLimit);
    }

    /** A node on an existing data directory: a restarted node. */
    TestNode(Path dataDir, boolean snapshots, Duration keepAlive, int queueLimit) throws IOException {
        this(dataDir, snapshots, keepAlive, queueLimit, true);
    }

    TestNode(Path dataDir, boolean snapshots, Duration keepAlive, int queueLimit, boolean store) throws IOException {
        // many nodes start and stop in a test run: none compiles its S3 read path ahead
        this(dataDir, snapshots, keepAlive, queueLimit, store, dev.thaw.node.StoreSettings.DEFAULT.withWarmUpReads(false));
    }

    /** A node whose snapshot store cuts, protects and warms up as {@code settings} say. */
    TestNode(dev.thaw.node.StoreSettings settings) throws IOException {
        this(Files.createTempDirectory("thaw-it-"), true, Duration.ofMinutes(5), 100, true, settings);
    }

    TestNode(Path dataDir, boolean snapshots, Duration keepAlive, int queueLimit, boolean store,
             dev.thaw.node.StoreSettings settings) throws IOException {
        this(dataDir, snapshots, b -> b.keepAlive(keepAlive).queueLimit(queueLimit).snapshotStore(store).store(settings));
    }

    /**
     * A node with the defaults of the tests (keep-alive 5 min, no store warm-up) and further settings.
     *
     * @param settings changes to the node's configuration (event retry delay, drain grace …)
     */
    TestNode(Path dataDir, boolean snapshots, java.util.function.UnaryOperator<NodeConfig.Builder> settings)
            throws IOException {
        this.dataDir = dataDir;
        Path criu = Path.of(System.getProperty("thaw.criu", ".thaw/criu/bin/criu"));
        node = Node.start(settings.apply(NodeConfig.builder().port(0).dataDir(dataDir)
                .runtimeJar(FUNCTIONS.resolve("thaw-runtime.jar"))
                .criu(snapshots ? criu : null)
                .keepAlive(Duration.ofMinutes(5))
                .store(dev.thaw.node.StoreSettings.DEFAULT.withWarmUpReads(false))).build());
        client = ThawClient.create(node.uri(), node.apiToken());
    }

    /** A node configured further by {@code custom} (transfers' settings, an S3 tier). */
    TestNode(java.util.function.UnaryOperator<NodeConfig.Builder> custom) throws IOException {
        this(Files.createTempDirectory("thaw-it-"), true, custom);
    }

    static boolean criuAvailable() {
        return dev.thaw.criu.Criu.probe(java.util.Optional.of(Path.of(System.getProperty("thaw.criu", ".thaw/criu/bin/criu"))))
                .available();
    }

    FunctionInfo deploy(String name, String handler) {
        return deploy(name, handler, TEST_FUNCTIONS, Map.of(), true, 30_000);
    }

    FunctionInfo deploy(String name, String handler, Path jar, Map<String, String> env, boolean snapshots, int timeoutMs) {
        return client.deploy(new FunctionManifest(name, handler, null, 256, timeoutMs, env, 8, snapshots), jar);
    }

    /** Deploys a test function with a restore mode. */
    FunctionInfo deploy(String name, String handler, String restoreMode, int memoryMb) {
        return client.deploy(new FunctionManifest(name, handler, null, memoryMb, 60_000, Map.of(), 8, true, restoreMode),
                TEST_FUNCTIONS);
    }

    /** Waits until the function's log has a line containing {@code text} (things the node does after answering). */
    void awaitLog(String name, String text) throws InterruptedException {
        assertThat(Eventually.poll(() -> client.logs(name, 100), logs -> logs.contains(text), Duration.ofSeconds(30), POLL))
                .contains(text);
    }

    /** Waits until the function's snapshot is uploaded to the store's S3 tier. */
    void awaitDurable(String name) throws InterruptedException {
        assertThat(Eventually.poll(() -> client.snapshot(name).path("store").path("durable").asBoolean(false), durable -> durable,
                Duration.ofSeconds(60), POLL)).as("snapshot durable").isTrue();
    }

    /** Waits until the function's snapshot is in the store (put runs in the background). */
    void awaitStored(String name) throws InterruptedException {
        assertThat(Eventually.poll(() -> client.snapshot(name).path("store").path("chunks").asInt(0), chunks -> chunks > 0,
                Duration.ofSeconds(60), POLL)).as("snapshot stored").isPositive();
    }

    InvocationResult invoke(String name, String json) {
        return client.invoke(name, json.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Invokes the function once, which leaves it with its snapshot, then evicts: the invocation is served by the
     * boot the deploy started to take it (it waited for that boot), or, when it came after that boot
     * took the snapshot and stopped, by a restored clone.
     */
    InvocationResult primeSnapshot(String name, String json) {
        InvocationResult first = invoke(name, json);
        assertThat(first.startKind().name()).isIn("BOOT", "RESTORE");
        assertThat(client.describe(name).snapshot().state()).isEqualTo("ready");
        client.evict(name);
        return first;
    }

    /** Stops the node but keeps its data directory, for a node restarted on it. */
    Path stopKeepingData() throws IOException {
        client.close();
        node.close();
        assertThat(processesUnder(dataDir)).as("instance processes left running after the node closed").isEmpty();
        return dataDir;
    }

    @Override
    public void close() throws IOException {
        client.close();
        node.close();
        if (!Files.exists(dataDir)) {
            return;
        }
        List<String> leftovers = processesUnder(dataDir).stream().map(TestNode::describe).toList();
        FileTrees.delete(dataDir);
        assertThat(leftovers).as("instance processes left running after the node closed").isEmpty();
    }

    /**
     * Unmounts and removes what a node of {@code dataDir} killed with SIGKILL left on the host (its
     * instances' scratch mounts and cgroups), as the node itself would on its next start: for tests
     * whose killed node is never started again.
     */
    static void sweepDeadNode(Path dataDir) {
        if (!Files.isDirectory(dataDir)) {
            return;
        }
        dev.thaw.sandbox.Sandboxes.sweepAfterDeadNode(dev.thaw.sandbox.SandboxConfig.builder(dataDir)
                .runtimeDir(dataDir.resolve("runtime")).build());
        dev.thaw.core.FileTrees.deleteQuietly(Path.of(System.getProperty("java.io.tmpdir"),
                "thaw-restore-" + dev.thaw.sandbox.Sandboxes.nodeKey(dataDir))); // its restores' work directory
    }

    /** @return processes whose working directory is inside {@code dir} (instances run in their code dir) */
    static List<Long> processesUnder(Path dir) throws IOException {
        String prefix = dir.toRealPath().toString();
        // a sandboxed instance's cwd is its own /var/task: it is found by its cgroup, named after the node
        String cgroup = "/thaw/" + dev.thaw.sandbox.Sandboxes.nodeKey(dir) + "/";
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            return procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit))
                    .filter(p -> {
                        try {
                            return Files.readSymbolicLink(p.resolve("cwd")).toString().startsWith(prefix)
                                    || Files.readString(p.resolve("cgroup")).contains(cgroup);
                        } catch (IOException | RuntimeException e) {
                            return false;
                        }
                    })
                    .map(p -> Long.parseLong(p.getFileName().toString()))
                    .toList();
        }
    }

    static String describe(long pid) {
        try {
            return pid + ": " + Files.readString(Path.of("/proc/" + pid + "/cmdline")).replace('\0', ' ')
                    + " (" + Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream()
                    .filter(l -> l.startsWith("PPid") || l.startsWith("State")).toList() + ")";
        } catch (IOException e) {
            return pid + " (gone)";
        }
    }
}
