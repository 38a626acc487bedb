package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.thaw.client.InvocationResult;
import dev.thaw.core.Json;
import dev.thaw.core.StartKind;
import dev.thaw.node.NodeConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Egress from sandboxed instances through the node's proxy: a function fetches a URL with the JDK's
 * {@code HttpClient} (default proxy selector) from an HTTP server of the test's on the host's
 * loopback. Without {@code --egress-allow} nothing listens for it; with exactly that
 * {@code ip:port} allowed it gets the answer, booted and restored; a snapshot taken before egress was
 * allowed is discarded (a clone's environment cannot learn of the proxy); with {@code *} the host's
 * loopback stays refused, in the function's log and the metrics.
 *
 * <p>The URL names the host's loopback as {@code [::ffff:127.0.0.1]}: inside an instance,
 * {@code 127.0.0.1} and {@code localhost} are the instance's own loopback, which the proxy settings
 * exempt ({@code -Dhttp.nonProxyHosts=localhost|127.*}, so the Runtime API stays direct); the mapped
 * form goes through the proxy, which resolves it to 127.0.0.1 on the node's side.
 */
class EgressIT {
    private static final String FN = "fetcher";
    private static HttpServer server;
    private static final AtomicInteger served = new AtomicInteger();
    private static String url;
    private static int port;

    @BeforeAll
    static void startServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            served.incrementAndGet();
            byte[] body = ("hello from the host, " + exchange.getRequestURI().getPath()).getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        port = server.getAddress().getPort();
        url = "http://[::ffff:127.0.0.1]:" + port + "/greeting";
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.stop(0);
        }
    }

    private static TestNode node(UnaryOperator<NodeConfig.Builder> settings) throws IOException {
        TestNode node = new TestNode(Files.createTempDirectory("thaw-it-egress-"), true, settings);
        if (!node.node.sandboxStatus().startsWith("on")) {
            String why = node.node.sandboxStatus();
            node.close();
            assumeTrue(false, "no sandbox on this machine: " + why);
        }
        node.deploy(FN, TestNode.TF + "Hostile::handle", "eager", 256);
        return node;
    }

    private static JsonNode run(TestNode node, Map<String, Object> input, StartKind expected) throws IOException {
        InvocationResult r = node.invoke(FN, Json.mapper().writeValueAsString(input));
        if (expected != null) {
            assertThat(r.startKind()).isEqualTo(expected);
        }
        return Json.mapper().readTree(r.body());
    }

    private static JsonNode fetch(TestNode node, StartKind expected) throws IOException {
        return run(node, Map.of("action", "fetch", "data", url), expected);
    }

    private static List<String> envNames(TestNode node) throws IOException {
        List<String> names = new java.util.ArrayList<>();
        run(node, Map.of("action", "env"), null).path("detail").forEach(n -> names.add(n.asText()));
        return names;
    }

    @Test
    void withoutEgressAllowNothingListensAndNoProxyIsAnnounced() throws Exception {
        try (TestNode node = node(b -> b)) {
            assertThat(node.node.egressStatus()).startsWith("off: sandboxed instances reach nothing outside");
            int before = served.get();
            JsonNode r = fetch(node, StartKind.BOOT);
            assertThat(r.path("allowed").asBoolean()).as("%s", r).isFalse();
            assertThat(r.path("detail").asText()).contains("ConnectException");
            assertThat(envNames(node)).doesNotContain("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "NO_PROXY");
            assertThat(served.get()).isEqualTo(before);
        }
    }

    @Test
    void anExactlyAllowedHostLocalServiceIsReachedBootedAndRestored() throws Exception {
        try (TestNode node = node(b -> b.egressAllow(List.of("127.0.0.1:" + port)))) {
            assertThat(node.node.egressStatus()).contains("127.0.0.1:" + port).contains("127.0.0.1:9002");
            JsonNode booted = fetch(node, StartKind.BOOT);
            assertThat(booted.path("detail").asText()).as("%s", booted).isEqualTo("hello from the host, /greeting");
            assertThat(envNames(node)).contains("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY",
                    "no_proxy");

            node.client.evict(FN);
            JsonNode restored = fetch(node, StartKind.RESTORE);
            assertThat(restored.path("detail").asText()).as("a clone, its proxy listener opened anew: %s", restored)
                    .isEqualTo("hello from the host, /greeting");
            assertThat(node.client.metrics())
                    .contains("thaw_egress_connections_total{function_name=\"" + FN + "\",verdict=\"allowed\"} 2.0");
            assertThat(node.client.logs(FN, 200)).doesNotContain("EGRESS_DENIED");
        }
    }

    @Test
    void aSnapshotTakenWithoutTheProxyIsDiscardedOnceEgressIsAllowed() throws Exception {
        TestNode before = node(b -> b);
        java.nio.file.Path data;
        try {
            assertThat(fetch(before, StartKind.BOOT).path("allowed").asBoolean()).isFalse();
            data = before.stopKeepingData();
        } catch (IOException | RuntimeException | AssertionError e) {
            before.close();
            throw e;
        }
        try (TestNode after = new TestNode(data, true, b -> b.egressAllow(List.of("127.0.0.1:" + port)))) {
            JsonNode booted = fetch(after, StartKind.BOOT);
            assertThat(booted.path("detail").asText()).as("%s", booted).isEqualTo("hello from the host, /greeting");
            assertThat(after.client.logs(FN, 200)).contains("SNAPSHOT_DISCARDED it was taken without the egress proxy");
            after.client.evict(FN);
            assertThat(fetch(after, StartKind.RESTORE).path("detail").asText()).isEqualTo("hello from the host, /greeting");
        }
    }

    @Test
    void aWildcardNeverReachesTheHostsLoopback() throws Exception {
        try (TestNode node = node(b -> b.egressAllow(List.of("*")))) {
            int before = served.get();
            JsonNode r = fetch(node, StartKind.BOOT);
            String refusal = "egress to [::ffff:127.0.0.1]:" + port + " is not allowed for function " + FN
                    + " (thaw up --egress-allow)";
            assertThat(r.path("allowed").asBoolean()).as("%s", r).isFalse();
            assertThat(r.path("detail").asText()).contains("HTTP 403").contains(refusal).contains("a loopback address");
            assertThat(served.get()).as("the server saw nothing").isEqualTo(before);
            node.awaitLog(FN, "EGRESS_DENIED " + refusal);
            assertThat(node.client.metrics())
                    .contains("thaw_egress_connections_total{function_name=\"" + FN + "\",verdict=\"denied\"} 1.0");
        }
    }
}
