package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.client.InvocationResult;
import dev.thaw.core.ErrorType;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.Json;
import dev.thaw.core.StartKind;
import dev.thaw.core.ThawException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A hostile function beside a victim with secrets, booted and restored in every restore mode: each
 * attempt to reach the node, the victim or the host fails with a denial, and the victim's answers
 * are untouched. Then the limits (memory, processes, scratch) and a node killed with SIGKILL.
 */
class SandboxIT {
    private static final String SECRET = "victim-s3cr3t-" + System.nanoTime();
    private static TestNode node;

    @BeforeAll
    static void start() throws IOException {
        node = new TestNode();
        assumeTrue(node.node.sandboxStatus().startsWith("on"), "no sandbox on this machine: " + node.node.sandboxStatus());
        node.client.deploy(new FunctionManifest("victim", TestNode.TF + "EchoRequestHandler::handleRequest", null, 256,
                30_000, Map.of("DB_PASSWORD", SECRET), 4, true), TestNode.TEST_FUNCTIONS);
        assertThat(node.invoke("victim", "{\"v\":0}").startKind()).isEqualTo(StartKind.BOOT);
    }

    @AfterAll
    static void stop() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    private static JsonNode attack(String function, Map<String, Object> input) throws IOException {
        InvocationResult r = node.invoke(function, Json.mapper().writeValueAsString(input));
        JsonNode answer = Json.mapper().readTree(r.body());
        assertThat(r.bodyAsString()).as("nothing of the victim's secret reaches the attacker").doesNotContain(SECRET);
        return answer;
    }

    private static Map<String, Object> act(String action, Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("action", action);
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    /** Every attack the hostile function makes, with what must come of it. */
    private static void everyAttackFails(String fn) throws IOException {
        Path data = node.dataDir;
        String victimCode = data.resolve("functions/victim/v1/code").toString();
        List<Map<String, Object>> denied = new ArrayList<>(List.of(
                act("read", "path", data.resolve("store.secret").toString()),
                act("read", "path", data.resolve("api-token").toString()),
                act("read", "path", data.resolve("functions/victim/v1/deployment.json").toString()),
                act("read", "path", "/etc/shadow"),
                act("read", "path", "/proc/" + ProcessHandle.current().pid() + "/environ"),
                act("list", "path", "/dev/shm"),
                act("list", "path", data.toString()),
                act("write", "path", "/var/task/planted"),
                act("write", "path", victimCode + "/planted"),
                act("write", "path", "/usr/planted"),
                act("connect", "host", "127.0.0.1", "port", node.node.port()),
                act("http", "host", "127.0.0.1", "port", node.node.port(), "method", "DELETE", "path", "/functions/victim")));
        for (Map<String, Object> a : denied) {
            JsonNode r = attack(fn, a);
            assertThat(r.path("allowed").asBoolean()).as("%s: %s", a, r).isFalse();
        }
        for (String call : List.of("mount", "unshare", "ptrace", "keyctl", "bpf", "setuid0")) {
            JsonNode r = attack(fn, act("syscall", "data", call));
            assertThat(r.path("detail").asText()).as(call).isEqualTo("-1 errno 1");
        }
        JsonNode me = attack(fn, act("whoami")).path("detail");
        assertThat(me.path("Uid").asText()).startsWith("1000");
        assertThat(me.path("CapEff").asText()).isEqualTo("0000000000000000");
        assertThat(me.path("CapBnd").asText()).isEqualTo("0000000000000000");
        assertThat(me.path("NoNewPrivs").asText()).isEqualTo("1");
        assertThat(me.path("Seccomp").asText()).isEqualTo("2");
        assertThat(me.path("processes").asInt()).as("only its own processes").isLessThan(5);
        assertThat(attack(fn, act("env")).path("detail").toString()).doesNotContain("DB_PASSWORD");
        // what a function may do, it still can
        assertThat(attack(fn, act("fork", "data", "echo hi from $(id -u)")).path("detail").asText()).isEqualTo("exit 0: hi from 1000");
        assertThat(attack(fn, act("scratch", "mb", 8)).path("allowed").asBoolean()).isTrue();
        // and the victim answers as before, to its own callers
        assertThat(node.invoke("victim", "{\"v\":1}").bodyAsString()).contains("\"echo\":{\"v\":1}");
    }

    @ParameterizedTest
    @ValueSource(strings = {"eager", "lazy", "reap"})
    void aHostileFunctionIsDeniedEverythingBootedAndRestored(String mode) throws Exception {
        String fn = "hostile-" + mode;
        node.deploy(fn, TestNode.TF + "Hostile::handle", mode, 256);
        InvocationResult first = node.invoke(fn, "{\"action\":\"env\"}");
        assertThat(first.startKind()).isEqualTo(StartKind.BOOT);
        everyAttackFails(fn);
        node.client.evict(fn);
        InvocationResult restored = node.invoke(fn, "{\"action\":\"env\"}");
        assertThat(restored.startKind()).as("a clone, restored in mode %s", mode).isEqualTo(StartKind.RESTORE);
        everyAttackFails(fn);
        node.client.delete(fn);
    }

    @Test
    void memoryPastTheLimitIsAnsweredOutOfMemoryNamingTheLimitAndTheNodeStaysHealthy() throws Exception {
        node.client.deploy(new FunctionManifest("hungry", TestNode.TF + "Hostile::handle", null, 256, 30_000, Map.of(), 2,
                false), TestNode.TEST_FUNCTIONS);
        assertThatThrownBy(() -> node.invoke("hungry", "{\"action\":\"native\",\"mb\":3000}"))
                .isInstanceOfSatisfying(ThawException.class, e -> {
                    assertThat(e.type()).isEqualTo(ErrorType.OutOfMemory);
                    assertThat(e.getMessage()).contains("its limit of 256 MB");
                });
        assertThat(node.client.logs("hungry", 100)).contains("OUT_OF_MEMORY");
        InvocationResult after = node.invoke("hungry", "{\"action\":\"whoami\"}");
        assertThat(after.status()).isEqualTo(200);
        assertThat(node.client.logs("hungry", 100)).contains("Max Memory Used:");
        assertThat(after.thawHeader("Max-Memory-Bytes")).isPresent();
        assertThat(node.client.metrics()).contains("thaw_function_invocations_total");
        node.client.delete("hungry");
    }

    @Test
    void processesAndScratchAreBounded() throws Exception {
        node.client.deploy(new FunctionManifest("forks", TestNode.TF + "Hostile::handle", null, 256, 60_000, Map.of(), 1,
                false), TestNode.TEST_FUNCTIONS);
        JsonNode bomb = attack("forks", act("forkbomb"));
        assertThat(bomb.path("detail").asText()).contains("then refused");
        JsonNode full = attack("forks", act("scratch", "mb", 200));
        assertThat(full.path("allowed").asBoolean()).as("a 64 MiB /tmp takes no 200 MB").isFalse();
        assertThat(full.path("detail").asText()).contains("No space left on device");
        assertThat(attack("forks", act("whoami")).path("allowed").asBoolean()).as("and it still runs").isTrue();
        node.client.delete("forks");
    }

    @Test
    void aNodeKilledWithSigkillTakesItsInstancesAlongAndTheNextStartCleansUp() throws Exception {
        Path data = Files.createTempDirectory("thaw-it-kill-");
        Path log = data.resolveSibling(data.getFileName() + ".log");
        Path nodeDir = data.resolve("node");
        Process up = UpProcess.start(nodeDir, log);
        try {
            try (var client = UpProcess.clientOf(up, nodeDir, log)) {
                client.deploy(new FunctionManifest("sleeper", TestNode.TF + "Sleeper::handle", null, 256, 60_000, Map.of(),
                        4, true), TestNode.TEST_FUNCTIONS);
                client.invoke("sleeper", "{\"ms\":1}".getBytes());
                client.evict("sleeper");
                // two clones restored and busy when the node dies
                for (int i = 0; i < 2; i++) {
                    Thread.ofVirtual().start(() -> {
                        try {
                            client.invoke("sleeper", "{\"ms\":30000}".getBytes());
                        } catch (RuntimeException e) {
                            // the node is killed under it
                        }
                    });
                }
                assertThat(Eventually.poll(() -> client.describe("sleeper").instances().busy(), n -> n == 2,
                        Duration.ofSeconds(60), Duration.ofMillis(50))).isEqualTo(2);
            }
            assertThat(TestNode.processesUnder(nodeDir)).as("the clones run").isNotEmpty();
            UpProcess.kill(up);
            List<Long> left = Eventually.poll(() -> TestNode.processesUnder(nodeDir), List::isEmpty, Duration.ofSeconds(5),
                    Duration.ofMillis(20));
            assertThat(left).as("every instance died with its node").isEmpty();

            try (TestNode next = new TestNode(nodeDir, true, b -> b)) {
                assertThat(next.node.sandboxStatus()).startsWith("on");
                assertThat(next.node.cleanedAtStart()).as("what the dead node left: its clones' cgroups and scratch")
                        .contains("cgroups").contains("scratch");
            }
            assertThat(Files.readString(log)).doesNotContain("Exception in thread");
        } finally {
            up.destroyForcibly();
            up.waitFor(10, TimeUnit.SECONDS);
            Files.deleteIfExists(log);
            dev.thaw.core.FileTrees.deleteQuietly(data);
        }
    }

    /**
     * A node killed while it held its snapshot's publish (an invocation in flight since before the
     * snapshot) leaves only the working copy: its next start stores it.
     */
    @Test
    void aSnapshotAKilledNodeHadNotStoredYetIsStoredByItsNextStart() throws Exception {
        Path data = Files.createTempDirectory("thaw-it-held-");
        Path log = data.resolveSibling(data.getFileName() + ".log");
        Path nodeDir = data.resolve("node");
        Process up = UpProcess.start(nodeDir, log);
        try {
            try (var client = UpProcess.clientOf(up, nodeDir, log)) {
                client.deploy(new FunctionManifest("held", TestNode.TF + "Sleeper::handle", null, 256, 60_000, Map.of(),
                        4, true), TestNode.TEST_FUNCTIONS);
                Thread.ofVirtual().start(() -> { // waits for the deploy's boot, and is in flight at its snapshot
                    try {
                        client.invoke("held", "{\"ms\":50000}".getBytes());
                    } catch (RuntimeException e) {
                        // the node is killed under it
                    }
                });
                Eventually.poll(() -> client.describe("held").snapshot().state(), "ready"::equals, Duration.ofSeconds(60),
                        Duration.ofMillis(50));
                JsonNode report = client.snapshot("held");
                assertThat(report.path("store").isNull()).as("stored on a busy node: %s", report).isTrue();
                assertThat(report.path("publish").asText()).startsWith("held until the node has been quiet");
                UpProcess.kill(up);
            }

            try (TestNode next = new TestNode(nodeDir, true, b -> b)) {
                next.awaitStored("held");
                assertThat(next.client.logs("held", 100)).contains("SNAPSHOT found in its working copy only")
                        .containsPattern("SNAPSHOT stored in \\d+ ms");
                next.client.evictSnapshot("held", java.util.Set.of("working"));
                InvocationResult r = next.invoke("held", "{\"ms\":1}");
                assertThat(r.startKind()).isEqualTo(dev.thaw.core.StartKind.RESTORE);
                assertThat(r.thawHeader("Restore-Source")).contains("store");
            }
        } finally {
            up.destroyForcibly();
            up.waitFor(10, TimeUnit.SECONDS);
            Files.deleteIfExists(log);
            dev.thaw.core.FileTrees.deleteQuietly(data);
        }
    }
}
