package dev.thaw.client;

import dev.thaw.core.StartKind;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.core.ErrorType;
import dev.thaw.core.FunctionErrorException;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.Json;
import dev.thaw.core.ThawException;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ThawClientTest {
    static final String INFO = """
            {"name":"hello","version":3,"handler":"a.B::c","runtime":"java","memoryMb":512,"timeoutMs":30000,
             "environmentKeys":["GREETING"],"maxInstances":8,"snapshotsEnabled":true,"codeSha256":"ab",
             "codeSizeBytes":4,"deployedAt":"2026-11-22T21:00:00Z",
             "snapshot":{"state":"ready","sizeBytes":17825792,"checkpointMs":310,"restores":4,"restoreFailures":0},
             "instances":{"starting":0,"idle":1,"busy":2,"queued":0}}""";

    FakeNode node;
    ThawClient client;

    @BeforeEach
    void start() throws IOException {
        node = new FakeNode();
        client = ThawClient.create(URI.create(node.uri() + "/"));
    }

    @AfterEach
    void stop() {
        client.close();
        node.close();
    }

    @Test
    void deployReportsTheUploadAsItGoes(@TempDir Path dir) throws Exception {
        byte[] code = new byte[3 << 20];
        new java.util.Random(5).nextBytes(code);
        Path jar = Files.write(dir.resolve("big.jar"), code);
        node.answer("PUT", "/functions/hello", 201, INFO);
        java.util.List<long[]> reports = new java.util.concurrent.CopyOnWriteArrayList<>();

        client.deploy(new FunctionManifest("hello", "a.B::c", null, null, null, null, null, null), jar,
                (sent, total) -> reports.add(new long[] {sent, total}));

        long body = node.last().body().length;
        assertThat(body).as("base64 and the manifest").isGreaterThan(4L << 20);
        assertThat(reports).as("reported while it went, not once at the end").hasSizeGreaterThan(10);
        assertThat(reports).allSatisfy(r -> assertThat(r[1]).isEqualTo(body));
        assertThat(reports.getLast()[0]).isEqualTo(body);
        for (int i = 1; i < reports.size(); i++) {
            assertThat(reports.get(i)[0]).isGreaterThan(reports.get(i - 1)[0]);
        }
    }

    @Test
    void deploySendsTheManifestAndBase64Code(@TempDir Path dir) throws Exception {
        Path jar = Files.write(dir.resolve("f.jar"), new byte[] {1, 2, 3, 4});
        node.answer("PUT", "/functions/hello", 201, INFO);
        var manifest = new FunctionManifest("hello", "a.B::c", null, 256, null, Map.of("GREETING", "hi"), null, false);

        FunctionInfo info = client.deploy(manifest, jar);

        assertThat(info.version()).isEqualTo(3);
        assertThat(info.instances().busy()).isEqualTo(2);
        var request = node.last();
        assertThat(request.contentType()).isEqualTo("application/json");
        JsonNode body = Json.mapper().readTree(request.body());
        assertThat(body.at("/manifest/handler").asText()).isEqualTo("a.B::c");
        assertThat(body.at("/manifest/memoryMb").asInt()).isEqualTo(256);
        assertThat(body.at("/manifest/snapshots").asBoolean(true)).isFalse();
        assertThat(body.at("/manifest/timeoutMs").isMissingNode()).isTrue();
        assertThat(Base64.getDecoder().decode(body.get("code").asText())).containsExactly(1, 2, 3, 4);
    }

    @Test
    void deployOfAMissingJarFailsBeforeSending(@TempDir Path dir) {
        var manifest = new FunctionManifest("hello", "a.B::c", null, null, null, null, null, null);
        assertThatThrownBy(() -> client.deploy(manifest, dir.resolve("nope.jar")))
                .isInstanceOfSatisfying(ThawException.class, e -> assertThat(e.type()).isEqualTo(ErrorType.InvalidRequest))
                .hasMessageContaining("nope.jar");
        assertThat(node.requests()).isEmpty();
    }

    @Test
    void listUnwrapsTheFunctionsArray() {
        node.answer("GET", "/functions", 200, "{\"functions\":[" + INFO + "]}");
        assertThat(client.list()).extracting(FunctionInfo::name).containsExactly("hello");
    }

    @Test
    void describeDeleteEvictAndLogsUseTheirPaths() {
        node.answer("GET", "/functions/hello", 200, INFO)
                .answer("DELETE", "/functions/hello", 200, "{\"deleted\":\"hello\",\"version\":3}")
                .answer("DELETE", "/functions/hello/instances", 200, "{\"evicted\":2}")
                .answer("GET", "/functions/hello/logs", 200, "START\nEND\n");

        assertThat(client.describe("hello").snapshot().state()).isEqualTo("ready");
        assertThat(client.delete("hello")).isEqualTo(3);
        assertThat(client.evict("hello")).isEqualTo(2);
        assertThat(client.logs("hello", 7)).isEqualTo("START\nEND\n");
        assertThat(node.last().query()).isEqualTo("tail=7");
    }

    @Test
    void healthAndMetrics() {
        node.answer("GET", "/healthz", 200, "{\"status\":\"ok\",\"functions\":2}")
                .answer("GET", "/metrics", 200, "# HELP x\nx 1\n");
        assertThat(client.health().get("functions").asInt()).isEqualTo(2);
        assertThat(client.metrics()).contains("x 1");
    }

    @Test
    void invokeParsesTheTimingHeaders() {
        node.answer("POST", "/functions/hello/invoke", 200, "{\"greeting\":\"hi\"}", Map.of(
                "X-Thaw-Request-Id", "req-1",
                "X-Thaw-Start", "restore",
                "X-Thaw-Restore-Ms", "12.5",
                "X-Thaw-Duration-Ms", "0.75",
                "X-Thaw-Function-Version", "3"));

        InvocationResult result = client.invoke("hello", "{\"name\":\"x\"}".getBytes(StandardCharsets.UTF_8));

        assertThat(node.last().bodyText()).isEqualTo("{\"name\":\"x\"}");
        assertThat(node.last().method()).isEqualTo("POST");
        assertThat(result.status()).isEqualTo(200);
        assertThat(result.bodyAsString()).isEqualTo("{\"greeting\":\"hi\"}");
        assertThat(result.requestId()).isEqualTo("req-1");
        assertThat(result.startKind()).isEqualTo(StartKind.RESTORE);
        assertThat(result.restoreMs()).hasValue(12.5);
        assertThat(result.coldStartMs()).hasValue(12.5);
        assertThat(result.initMs()).isEmpty();
        assertThat(result.durationMs()).hasValue(0.75);
        assertThat(result.functionVersion()).hasValue(3);
        assertThat(result.clientLatencyNanos()).isPositive();
    }

    @Test
    void invokeToleratesMissingAndMalformedHeaders() {
        node.answer("POST", "/functions/hello/invoke", 200, "null", Map.of("X-Thaw-Init-Ms", "soon"));
        InvocationResult result = client.invoke("hello", new byte[0]);
        assertThat(node.last().body()).isEmpty();
        assertThat(result.startKind()).isEqualTo(StartKind.UNKNOWN);
        assertThat(result.initMs()).isEmpty();
        assertThat(result.requestId()).isNull();
        assertThat(result.functionVersion()).isEmpty();
    }

    @Test
    void functionErrorsCarryTheFunctionsTypeAndStack() {
        node.answer("POST", "/functions/hello/invoke", 502, """
                {"errorType":"FunctionError","errorMessage":"boom","functionErrorType":"java.lang.IllegalStateException",
                 "stackTrace":["at a.B.c(B.java:1)"]}""");
        assertThatThrownBy(() -> client.invoke("hello", new byte[0]))
                .isInstanceOfSatisfying(FunctionErrorException.class, e -> {
                    assertThat(e.type()).isEqualTo(ErrorType.FunctionError);
                    assertThat(e.functionErrorType()).isEqualTo("java.lang.IllegalStateException");
                    assertThat(e.functionStackTrace()).containsExactly("at a.B.c(B.java:1)");
                })
                .hasMessage("boom");
    }

    @Test
    void errorBodiesBecomeTypedExceptions() {
        assertThatThrownBy(() -> client.describe("nope"))
                .isInstanceOfSatisfying(ThawException.class, e -> assertThat(e.type()).isEqualTo(ErrorType.FunctionNotFound));
        node.answer("GET", "/functions/busy", 429, "{\"errorType\":\"TooManyRequests\",\"errorMessage\":\"queue full\"}");
        assertThatThrownBy(() -> client.describe("busy"))
                .isInstanceOfSatisfying(ThawException.class, e -> assertThat(e.type()).isEqualTo(ErrorType.TooManyRequests))
                .hasMessage("queue full");
    }

    @Test
    void nonErrorBodyAnswersAreTypedByStatus() {
        node.answer("GET", "/metrics", 503, "<html>down</html>");
        assertThatThrownBy(() -> client.metrics())
                .isInstanceOfSatisfying(ThawException.class, e -> assertThat(e.type()).isEqualTo(ErrorType.ServiceUnavailable))
                .hasMessageContaining("HTTP 503");
    }

    @Test
    void refusedConnectionSaysHowToStartANode() throws IOException {
        int port;
        try (var socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        URI url = URI.create("http://127.0.0.1:" + port);
        try (ThawClient nobody = ThawClient.create(url)) {
            assertThatThrownBy(nobody::list)
                    .isInstanceOfSatisfying(ThawException.class, e -> assertThat(e.type()).isEqualTo(ErrorType.ServiceUnavailable))
                    .hasMessage("no thaw node at " + url + ": start one with ./thaw up");
        }
    }

    @Test
    void requestTimeoutsSayTheNodeDidNotAnswer() throws Exception {
        try (var silent = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
             ThawClient impatient = ThawClient.create(URI.create("http://127.0.0.1:" + silent.getLocalPort()),
                     java.time.Duration.ofMillis(300))) {
            assertThatThrownBy(impatient::health)
                    .isInstanceOfSatisfying(ThawException.class, e -> assertThat(e.type()).isEqualTo(ErrorType.ServiceUnavailable))
                    .hasMessageContaining("did not answer within 0.3 s");
        }
    }

    @Test
    void namesAreEncodedIntoOnePathSegment() {
        assertThatThrownBy(() -> client.describe("a/b"));
        assertThat(node.last().path()).isEqualTo("/functions/a%2Fb");
    }

    @Test
    void invokeWithOptionsCallsLambdasPathAndAnswersFunctionErrorsWithTheirLogTail() {
        String tail = java.util.Base64.getEncoder().encodeToString("START RequestId: r\nboom\n".getBytes(StandardCharsets.UTF_8));
        node.answer("POST", "/2015-03-31/functions/hello/invocations", 200,
                "{\"errorMessage\":\"no\",\"errorType\":\"java.lang.IllegalStateException\",\"stackTrace\":[]}",
                Map.of("X-Amz-Function-Error", "Unhandled", "X-Amz-Log-Result", tail, "X-Amz-Executed-Version", "4",
                        "X-Amz-Request-Id", "req-2"));

        InvocationResult r = client.invoke("hello", "{}".getBytes(StandardCharsets.UTF_8),
                InvokeOptions.defaults().withQualifier("live").withTailLog(true));

        assertThat(node.last().query()).isEqualTo("Qualifier=live");
        assertThat(node.last().header("X-Amz-Invocation-Type")).isEqualTo("RequestResponse");
        assertThat(node.last().header("X-Amz-Log-Type")).isEqualTo("Tail");
        assertThat(r.functionError()).hasValue("Unhandled");
        assertThat(r.logResult()).hasValue("START RequestId: r\nboom\n");
        assertThat(r.executedVersion()).hasValue(4);
        assertThat(r.requestId()).isEqualTo("req-2");
        assertThat(r.bodyAsString()).contains("java.lang.IllegalStateException");
    }

    @Test
    void anEventIsAcceptedWithoutABodyAndWithoutTheLogHeader() {
        node.answer("POST", "/2015-03-31/functions/hello/invocations", 202, "", Map.of("X-Amz-Request-Id", "req-3"));
        InvocationResult r = client.invoke("hello", new byte[0], InvokeOptions.defaults().withType(InvokeOptions.Type.EVENT));
        assertThat(r.status()).isEqualTo(202);
        assertThat(r.requestId()).isEqualTo("req-3");
        assertThat(r.functionError()).isEmpty();
        assertThat(node.last().header("X-Amz-Log-Type")).isNull();
        assertThat(node.last().header("X-Amz-Invocation-Type")).isEqualTo("Event");
    }

    @Test
    void awsShapedErrorsBecomeExceptionsOfTheThawTypeTheNodeNames() {
        node.answer("POST", "/2015-03-31/functions/hello/invocations", 503,
                "{\"Type\":\"Service\",\"message\":\"the node is shutting down\",\"Message\":\"the node is shutting down\"}",
                Map.of("x-amzn-ErrorType", "ResourceNotReadyException", "X-Thaw-Error-Type", "ServiceUnavailable"));
        assertThatThrownBy(() -> client.invoke("hello", new byte[0], InvokeOptions.defaults()))
                .isInstanceOfSatisfying(ThawException.class, e -> assertThat(e.type()).isEqualTo(ErrorType.ServiceUnavailable))
                .hasMessage("the node is shutting down");
    }

    @Test
    void aliasesVersionsAndDeadLettersUseTheirPaths() {
        node.answer("GET", "/functions/hello/aliases", 200,
                        "{\"function\":\"hello\",\"aliases\":[{\"alias\":\"b\",\"version\":2},{\"alias\":\"a\",\"version\":1}]}")
                .answer("PUT", "/functions/hello/aliases/a", 200, "{\"alias\":\"a\",\"version\":3,\"previousVersion\":1}")
                .answer("DELETE", "/functions/hello/aliases/a", 200, "{\"deleted\":\"a\",\"version\":3}")
                .answer("GET", "/functions/hello/versions", 200, "{\"versions\":[{\"version\":3}]}")
                .answer("GET", "/functions/hello/events/dead", 200, "{\"deadLetters\":[{\"requestId\":\"r\"}]}")
                .answer("DELETE", "/functions/hello/events/dead", 200, "{\"cleared\":5}");
        assertThat(client.aliases("hello")).containsExactly(Map.entry("a", 1L), Map.entry("b", 2L));
        assertThat(client.setAlias("hello", "a", 3)).hasValue(1);
        assertThat(node.last().bodyText()).isEqualTo("{\"version\":3}");
        assertThat(client.deleteAlias("hello", "a")).isEqualTo(3);
        assertThat(client.versions("hello").at("/versions/0/version").asLong()).isEqualTo(3);
        assertThat(client.deadLetters("hello").at("/deadLetters/0/requestId").asText()).isEqualTo("r");
        assertThat(client.clearDeadLetters("hello")).isEqualTo(5);
    }
}
