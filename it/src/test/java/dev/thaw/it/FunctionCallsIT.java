package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.client.InvocationResult;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.Json;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Functions invoking functions on a node as a user starts it (sandboxed): through THAW_NODE_URL,
 * the node's invoke API on each instance's own Runtime API listener, for the functions the
 * caller's deployment names in mayInvoke and nothing else; from a booted instance and from a
 * restored clone; and the benchmarks' chain workload passing 1 MiB by XDT reference, as
 * chain-transfer-xdt.yaml does.
 */
class FunctionCallsIT {
    private static final Path WORKLOADS = TestNode.FUNCTIONS.resolve("thaw-workloads.jar");
    private static TestNode node;

    @BeforeAll
    static void start() throws IOException {
        node = new TestNode();
        node.deploy("callee", TestNode.TF + "EchoRequestHandler::handleRequest");
        node.deploy("bystander", TestNode.TF + "EchoRequestHandler::handleRequest");
        node.deploy("thrower", TestNode.TF + "HandlerThrows::handle");
        node.client.deploy(new FunctionManifest("caller", TestNode.TF + "Hostile::handle", null, 256, 30_000, Map.of(), 4,
                true).withMayInvoke(List.of("callee", "thrower")), TestNode.TEST_FUNCTIONS);
    }

    @AfterAll
    static void stop() throws IOException {
        if (node != null) {
            node.close();
        }
    }

    /** @return what the caller got from the node: the status line, then the body */
    private static String call(String method, String path, String body) throws IOException {
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("action", "node");
        in.put("host", method);
        in.put("path", path);
        in.put("data", body);
        InvocationResult r = node.invoke("caller", Json.mapper().writeValueAsString(in));
        JsonNode out = Json.mapper().readTree(r.body());
        assertThat(out.path("allowed").asBoolean()).as("the request itself went through: %s", out).isTrue();
        return out.path("detail").asText();
    }

    @Test
    void aFunctionInvokesWhatItsDeploymentNamesOnBothPathsBootedAndRestored() throws Exception {
        assertThat(call("POST", "/functions/callee/invoke", "{\"hello\":\"there\"}"))
                .startsWith("HTTP/1.1 200").contains("\"hello\":\"there\"");
        assertThat(call("POST", "/2015-03-31/functions/callee/invocations?Qualifier=%24LATEST", "{\"n\":1}"))
                .startsWith("HTTP/1.1 200").contains("\"n\":1");
        assertThat(node.client.describe("caller").snapshot().state()).isEqualTo("ready");
        node.client.evict("caller");
        Map<String, Object> in = Map.of("action", "node", "path", "/functions/callee/invoke", "data", "{\"from\":\"clone\"}");
        InvocationResult restored = node.invoke("caller", Json.mapper().writeValueAsString(in));
        assertThat(restored.startKind().name()).isNotEqualToIgnoringCase("boot");
        assertThat(Json.mapper().readTree(restored.body()).path("detail").asText())
                .as("a clone reaches the node with the address its snapshot holds").startsWith("HTTP/1.1 200")
                .contains("\"from\":\"clone\"");
    }

    /** @return what the caller's {@code Functions} call gave: "result …", "queued …" or "refused …" */
    private static String callThroughRuntime(String function, String event, boolean queued) throws IOException {
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("action", "call");
        in.put("path", function);
        in.put("data", event);
        if (queued) {
            in.put("event", true);
        }
        InvocationResult r = node.invoke("caller", Json.mapper().writeValueAsString(in));
        assertThat(r.status()).as(r.bodyAsString()).isEqualTo(200);
        return Json.mapper().readTree(r.body()).path("detail").asText();
    }

    /** @return what the echoing callee answers to {@code event} */
    private static String echo(String event) {
        return "{\"shape\":\"lambda\",\"echo\":" + event + ",\"functionName\":\"callee\"}";
    }

    @Test
    void theRuntimesFunctionsApiCallsWhatTheDeploymentNamesAndNamesEveryRefusal() throws Exception {
        assertThat(callThroughRuntime("callee", "{\"via\":\"api\"}", false)).isEqualTo("result " + echo("{\"via\":\"api\"}"));
        assertThat(callThroughRuntime("callee:$LATEST", "{\"n\":2}", false)).isEqualTo("result " + echo("{\"n\":2}"));
        assertThat(callThroughRuntime("callee", "{\"queued\":true}", true)).matches("queued [0-9a-f-]{36}");
        assertThat(callThroughRuntime("bystander", "{}", false))
                .startsWith("refused 403 AccessDeniedException: calling bystander: function 'caller' may not invoke"
                        + " function 'bystander'");
        assertThat(callThroughRuntime("thrower", "{\"x\":1}", false))
                .as("the callee's failure, named as the node names it").startsWith("refused 502 FunctionError:")
                .contains("bad input");
        assertThat(callThroughRuntime("callee", "{not json", false)).startsWith("refused 400 InvalidRequest:");

        node.client.evict("caller");
        Map<String, Object> in = Map.of("action", "call", "path", "callee", "data", "{\"from\":\"clone\"}");
        InvocationResult restored = node.invoke("caller", Json.mapper().writeValueAsString(in));
        assertThat(restored.startKind().name()).isNotEqualToIgnoringCase("boot");
        assertThat(Json.mapper().readTree(restored.body()).path("detail").asText())
                .as("a clone calls through its own endpoint").isEqualTo("result " + echo("{\"from\":\"clone\"}"));
    }

    @Test
    void everythingElseIsRefusedNamingWhy() throws Exception {
        assertThat(call("POST", "/functions/bystander/invoke", "{}")).startsWith("HTTP/1.1 403")
                .contains("AccessDeniedException").contains("may not invoke function 'bystander'")
                .contains("--may-invoke bystander");
        assertThat(call("POST", "/functions/arn:aws:lambda:us-east-1:000000000000:function:bystander/invoke", "{}"))
                .as("another spelling of the same function").startsWith("HTTP/1.1 403");
        assertThat(call("POST", "/2015-03-31/functions/callee%3A1/../bystander/invocations", "{}"))
                .startsWith("HTTP/1.1 404");
        assertThat(call("GET", "/functions", "")).startsWith("HTTP/1.1 404").contains("serves invocations only");
        assertThat(call("DELETE", "/functions/callee", "")).startsWith("HTTP/1.1 404");
        assertThat(call("GET", "/functions/callee/invoke", "")).startsWith("HTTP/1.1 405");
        assertThat(node.client.describe("callee").version()).as("nothing was deleted").isEqualTo(1);
    }

    @Test
    void theChainWorkloadPassesAMebibyteByXdtReference() throws Exception {
        node.client.deploy(new FunctionManifest("chain-b", "dev.thaw.workloads.Chain::handle", null, 512, 30_000,
                Map.of("TRANSFER", "xdt"), 2, true), WORKLOADS);
        node.client.deploy(new FunctionManifest("chain-a", "dev.thaw.workloads.Chain::handle", null, 512, 30_000,
                Map.of("TRANSFER", "xdt", "NEXT_FUNCTION", "chain-b"), 2, true).withMayInvoke(List.of("chain-b")),
                WORKLOADS);
        for (int i = 0; i < 2; i++) {
            InvocationResult r = node.invoke("chain-a", "{\"remaining\":1,\"payloadBytes\":1048576}");
            assertThat(r.status()).as(r.bodyAsString()).isEqualTo(200);
            JsonNode out = Json.mapper().readTree(r.body());
            assertThat(out.path("hops").asInt()).isEqualTo(1);
            assertThat(out.path("payloadBytesReceived").asInt()).isEqualTo(1 << 20);
            assertThat(out.path("path").toString()).isEqualTo("[\"chain-a\",\"chain-b\"]");
        }
    }
}
