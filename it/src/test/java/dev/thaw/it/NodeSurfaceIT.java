package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.client.InvocationResult;
import dev.thaw.core.StartKind;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.FunctionManifest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;

/**
 * The node's surface without snapshots: a node with no CRIU still runs and says why, the Lambda
 * invoke path, a custom runtime in another language, metrics, logs, secrets kept out of sight,
 * and redeploy and delete.
 */
class NodeSurfaceIT {

    @Test
    void withoutCriuEveryColdStartBootsAndTheNodeSaysWhy() throws Exception {
        try (TestNode node = new TestNode(false)) {
            assertThat(node.node.snapshotStatus()).contains("snapshots are off");
            assertThat(node.client.health().at("/snapshots/enabled").asBoolean()).isFalse();
            FunctionInfo info = node.deploy("greeter", TestNode.TF + "Greeter::handle");
            assertThat(info.snapshot().state()).isEqualTo("disabled");
            assertThat(info.snapshot().reason()).contains("no CRIU configured");
            assertThat(node.invoke("greeter", "{\"name\":\"x\",\"times\":1}").startKind()).isEqualTo(StartKind.BOOT);
            node.client.evict("greeter");
            assertThat(node.invoke("greeter", "{\"name\":\"x\",\"times\":1}").startKind()).isEqualTo(StartKind.BOOT);
        }
    }

    @Test
    void lambdaInvokePathMetricsLogsAndSecrets() throws Exception {
        try (TestNode node = new TestNode(false)) {
            node.deploy("echo", TestNode.TF + "EchoRequestHandler::handleRequest", TestNode.TEST_FUNCTIONS,
                    Map.of("DB_PASSWORD", "s3cr3t-value"), false, 10_000);
            node.deploy("fails", TestNode.TF + "HandlerThrows::handle", TestNode.TEST_FUNCTIONS, Map.of(), false, 10_000);
            HttpClient http = HttpClient.newHttpClient();

            HttpResponse<String> ok = http.send(post(node, "/2015-03-31/functions/echo/invocations", "{\"k\":1}"),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(ok.statusCode()).isEqualTo(200);
            assertThat(ok.body()).contains("\"echo\":{\"k\":1}");
            assertThat(ok.headers().firstValue("X-Thaw-Start")).hasValue("boot");
            assertThat(ok.headers().firstValue("X-Thaw-Init-Ms")).isPresent();

            HttpResponse<String> err = http.send(post(node, "/2015-03-31/functions/fails/invocations", "{}"),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(err.statusCode()).isEqualTo(200);
            assertThat(err.headers().firstValue("X-Amz-Function-Error")).hasValue("Unhandled");
            assertThat(err.body()).contains("java.lang.IllegalArgumentException");

            String metrics = node.client.metrics();
            assertThat(metrics).contains("thaw_function_invocations_total{code=\"200\",function_name=\"echo\",start=\"boot\"} 1");
            assertThat(metrics).contains("thaw_function_cold_start_seconds");

            assertThat(node.client.logs("echo", 100)).contains("REPORT RequestId:").contains("Init Duration:");
            assertThat(node.client.describe("echo").environmentKeys()).containsExactly("DB_PASSWORD");
            String everything = node.client.logs("echo", 1000) + node.client.describe("echo") + metrics;
            assertThat(everything).doesNotContain("s3cr3t-value");
        }
    }

    @Test
    void customRuntimeInAnotherLanguageSpeaksTheRuntimeApi() throws Exception {
        Path zip = Files.createTempFile("bash-runtime", ".zip");
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(zip))) {
            out.putNextEntry(new ZipEntry("bootstrap"));
            out.write("""
                    #!/bin/bash
                    # A Lambda custom runtime in bash: poll next, answer with the event wrapped.
                    set -euo pipefail
                    API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
                    # in the function's own directory, which goes with the node's data: an instance killed
                    # while it waits for work must not leave a file in /tmp behind
                    HEADERS="${TMPDIR:-/tmp}/.next-headers"
                    while true; do
                      EVENT=$(curl -sS -D "$HEADERS" "$API/invocation/next")
                      ID=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$HEADERS" | cut -d' ' -f2 | tr -d '\\r')
                      curl -sS -X POST "$API/invocation/$ID/response" -d "{\\"bash\\":true,\\"event\\":$EVENT}" > /dev/null
                    done
                    """.getBytes());
            out.closeEntry();
        }
        try (TestNode node = new TestNode()) {
            node.client.deploy(new FunctionManifest("bash", null, "provided", 128, 10_000, Map.of(), 2, null), zip);
            InvocationResult r = node.invoke("bash", "{\"x\":[1,2]}");
            assertThat(r.bodyAsString()).isEqualTo("{\"bash\":true,\"event\":{\"x\":[1,2]}}");
            assertThat(node.invoke("bash", "7").bodyAsString()).isEqualTo("{\"bash\":true,\"event\":7}");
            assertThat(node.client.describe("bash").snapshot().state()).isEqualTo("disabled");
        } finally {
            Files.delete(zip);
        }
    }

    @Test
    void redeployServesTheNewVersionAndDeleteForgetsTheFunction() throws Exception {
        try (TestNode node = new TestNode()) {
            node.deploy("fn", TestNode.TF + "EchoFunction::apply");
            node.primeSnapshot("fn", "{}");
            FunctionInfo v2 = node.deploy("fn", TestNode.TF + "PlainMethods::upper");
            assertThat(v2.version()).isEqualTo(2);
            assertThat(v2.snapshot().state()).as("the deploy's boot is taking it").isEqualTo("pending");
            InvocationResult r = node.invoke("fn", "\"abc\"");
            assertThat(r.bodyAsString()).isEqualTo("\"ABC\"");
            assertThat(r.startKind()).isEqualTo(StartKind.BOOT);
            assertThat(r.functionVersion()).hasValue(2);

            node.client.delete("fn");
            assertThat(node.client.list()).isEmpty();
            assertThat(Files.list(node.dataDir.resolve("functions/fn")).filter(p -> p.getFileName().toString().startsWith("v")))
                    .isEmpty();
        }
    }

    @Test
    void busyInstancesQueueBoundedAndIdleOnesRetireToZero() throws Exception {
        try (TestNode node = new TestNode(false, Duration.ofSeconds(1), 1)) {
            node.client.deploy(new FunctionManifest("one", TestNode.TF + "Sleeper::handle", null, 128, 20_000, Map.of(), 1,
                    false), TestNode.TEST_FUNCTIONS);
            var busy = java.util.concurrent.CompletableFuture.supplyAsync(() -> node.invoke("one", "{\"ms\":3000}"));
            awaitCount(node, "busy", 1);
            var queued = java.util.concurrent.CompletableFuture.supplyAsync(() -> node.invoke("one", "{\"ms\":1}"));
            awaitCount(node, "queued", 1);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> node.invoke("one", "{\"ms\":1}"))
                    .isInstanceOf(dev.thaw.core.ThawException.class)
                    .hasMessageContaining("all 1 instances busy and 1 invocations queued")
                    .satisfies(e -> assertThat(((dev.thaw.core.ThawException) e).type())
                            .isEqualTo(dev.thaw.core.ErrorType.TooManyRequests));
            assertThat(busy.get().bodyAsString()).isEqualTo("{\"slept\":3000}");
            InvocationResult second = queued.get();
            assertThat(second.bodyAsString()).isEqualTo("{\"slept\":1}");
            assertThat(second.startKind()).as("the queued call reuses the instance").isEqualTo(StartKind.WARM);

            int idle = Eventually.poll(() -> node.client.describe("one").instances().idle(), n -> n == 0,
                    Duration.ofSeconds(15), Duration.ofMillis(200));
            assertThat(idle).as("retired after the keep-alive").isZero();
            assertThat(node.invoke("one", "{\"ms\":1}").startKind()).isEqualTo(StartKind.BOOT);
        }
    }

    private static void awaitCount(TestNode node, String what, int n) throws InterruptedException {
        int seen = Eventually.poll(() -> {
            var c = node.client.describe("one").instances();
            return what.equals("busy") ? c.busy() : c.queued();
        }, count -> count == n, Duration.ofSeconds(30), Duration.ofMillis(20));
        assertThat(seen).as(what + " instances").isEqualTo(n);
    }

    private static HttpRequest post(TestNode node, String path, String body) {
        return HttpRequest.newBuilder(URI.create(node.node.uri() + path)).header("Authorization", "Bearer " + node.node.apiToken())
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

}
