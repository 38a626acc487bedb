package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.core.FunctionManifest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.lambda.LambdaClient;
import software.amazon.awssdk.services.lambda.model.InvocationType;
import software.amazon.awssdk.services.lambda.model.InvokeRequest;
import software.amazon.awssdk.services.lambda.model.InvokeResponse;

/**
 * Asynchronous ({@code Event}) invocations end to end, through the AWS SDK and the AWS CLI: answered
 * 202 before the function runs, run; a failing one tried exactly three times (Lambda's two retries,
 * here 300 ms then 600 ms apart) and then a dead letter that {@code thaw events dead} shows; events a
 * node had not finished when it closed run after it restarts on the same data directory.
 */
class EventsIT {
    private static final Duration RETRY = Duration.ofMillis(300);
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Duration POLL = Duration.ofMillis(100);

    @BeforeAll
    static void criu() {
        assumeTrue(TestNode.criuAvailable(), "CRIU is not usable here (run scripts/install-criu.sh as root)");
    }

    private static TestNode node(Path data, Duration grace) throws Exception {
        return new TestNode(data, true, b -> b.eventRetryDelay(RETRY).drainGrace(grace));
    }

    private static InvokeResponse event(LambdaClient sdk, String function, String payload) {
        return sdk.invoke(InvokeRequest.builder().functionName(function).invocationType(InvocationType.EVENT)
                .payload(SdkBytes.fromUtf8String(payload)).build());
    }

    private static String requestId(InvokeResponse r) {
        return r.sdkHttpResponse().firstMatchingHeader("x-amzn-RequestId").orElseThrow();
    }

    /** @return how many attempts of this request id started, from the function's log */
    private static long attempts(TestNode node, String function, String requestId) {
        return node.client.logs(function, 10_000).lines().filter(l -> l.contains("START RequestId: " + requestId)).count();
    }

    @Test
    void anEventIsAnswered202BeforeItRunsAndThenRuns() throws Exception {
        try (TestNode node = node(Files.createTempDirectory("thaw-it-"), Duration.ofSeconds(30));
             LambdaClient sdk = AwsClients.sdk(node.node)) {
            node.deploy("sleeper", TestNode.TF + "Sleeper::handle");
            long start = System.nanoTime();
            InvokeResponse r = event(sdk, "sleeper", "{\"ms\":3000}");
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertThat(r.statusCode()).isEqualTo(202);
            assertThat(r.payload().asByteArray()).isEmpty();
            assertThat(ms).as("answered before the function (which sleeps 3 s after its boot) ran").isLessThan(2_000);
            String id = requestId(r);
            assertThat(r.sdkHttpResponse().firstMatchingHeader("X-Amz-Request-Id")).hasValue(id);

            node.awaitLog("sleeper", "REPORT RequestId: " + id);
            assertThat(attempts(node, "sleeper", id)).isEqualTo(1);
            assertThat(Eventually.poll(node.client::metrics, m -> m.contains("thaw_events_succeeded_total{function_name=\"sleeper\"} 1.0"),
                    WAIT, POLL)).contains("thaw_events_queued_total{function_name=\"sleeper\"} 1.0");
            assertThat(Eventually.poll(() -> pending(node.dataDir), n -> n == 0, WAIT, POLL)).as("the queue is empty").isZero();

            AwsClients.Cli.assumeInstalled();
            AwsClients.Cli cli = new AwsClients.Cli(node.node, node.dataDir);
            var run = cli.lambda("invoke", "--function-name", "sleeper", "--invocation-type", "Event", "--payload",
                    "{\"ms\":1}", "out-event.json");
            assertThat(run.exitCode()).as(run.stderr()).isZero();
            assertThat(run.stdout()).contains("\"StatusCode\": 202");
        }
    }

    @Test
    void aFailingEventIsTriedThreeTimesThenBecomesADeadLetter() throws Exception {
        try (TestNode node = node(Files.createTempDirectory("thaw-it-"), Duration.ofSeconds(30));
             LambdaClient sdk = AwsClients.sdk(node.node)) {
            node.deploy("fails", TestNode.TF + "HandlerThrows::handle");
            String id = requestId(event(sdk, "fails", "{\"n\":1}"));

            JsonNode letters = Eventually.poll(() -> node.client.deadLetters("fails").path("deadLetters"), l -> l.size() == 1,
                    WAIT, POLL);
            assertThat(letters).hasSize(1);
            JsonNode letter = letters.get(0);
            assertThat(letter.path("requestId").asText()).isEqualTo(id);
            assertThat(letter.path("attempts").asInt()).isEqualTo(3);
            assertThat(letter.path("lastError").asText()).isEqualTo("java.lang.IllegalArgumentException: bad input: {n=1}");
            assertThat(letter.path("payloadBytes").asInt()).isEqualTo(7);
            assertThat(attempts(node, "fails", id)).as("the first attempt and two retries").isEqualTo(3);
            Thread.sleep(RETRY.multipliedBy(8).toMillis());
            assertThat(attempts(node, "fails", id)).as("and never again").isEqualTo(3);
            assertThat(node.client.metrics()).contains("thaw_events_retried_total{function_name=\"fails\"} 2.0",
                    "thaw_events_dead_lettered_total{function_name=\"fails\"} 1.0");
            assertThat(pending(node.dataDir)).isZero();

            var cli = CliJar.run("--url", node.node.uri().toString(),
                    "--token-file", node.dataDir.resolve("api-token").toString(), "events", "dead", "fails", "--clear");
            assertThat(cli.exitCode()).as(cli.stderr()).isZero();
            assertThat(cli.stdout()).contains(id, "java.lang.IllegalArgumentException: bad input: {n=1}", "7 B")
                    .contains("cleared 1 dead letters of fails");
            assertThat(node.client.deadLetters("fails").path("deadLetters")).isEmpty();
        }
    }

    @Test
    void eventsANodeHadNotFinishedWhenItClosedRunAfterItRestarts() throws Exception {
        Path data = Files.createTempDirectory("thaw-it-");
        String sleeping;
        String failing;
        // no drain: the running event is cut short; the failed one waits 6 s for its retry
        TestNode first = new TestNode(data, true, b -> b.eventRetryDelay(Duration.ofSeconds(6)).drainGrace(Duration.ZERO));
        try (LambdaClient sdk = AwsClients.sdk(first.node)) {
            first.client.deploy(new FunctionManifest("sleeper", TestNode.TF + "Sleeper::handle", null, 256, 30_000, Map.of(), 2,
                    true), TestNode.TEST_FUNCTIONS);
            first.deploy("fails", TestNode.TF + "HandlerThrows::handle");
            failing = requestId(event(sdk, "fails", "{}"));
            first.awaitLog("fails", "ERROR RequestId: " + failing); // failed once, its retry not due for 6 s
            sleeping = requestId(event(sdk, "sleeper", "{\"ms\":5000}"));
            first.awaitLog("sleeper", "START RequestId: " + sleeping); // running when the node closes
        } finally {
            first.stopKeepingData();
        }
        assertThat(pending(data)).as("both stay queued").isEqualTo(2);

        try (TestNode second = node(data, Duration.ofSeconds(30))) {
            second.awaitLog("sleeper", "REPORT RequestId: " + sleeping);
            assertThat(startsOnDisk(data, "sleeper", sleeping)).as("cut short by the close, then run again").isEqualTo(2);
            JsonNode letters = Eventually.poll(() -> second.client.deadLetters("fails").path("deadLetters"),
                    l -> l.size() == 1, WAIT, POLL);
            assertThat(letters.get(0).path("attempts").asInt()).as("the attempt before the restart counts").isEqualTo(3);
            assertThat(attempts(second, "fails", failing)).as("two after the restart, and the one before it: the log"
                    + " shows the lines from before the restart").isEqualTo(3);
            assertThat(startsOnDisk(data, "fails", failing)).isEqualTo(3);
            assertThat(Eventually.poll(() -> pending(data), n -> n == 0, WAIT, POLL)).isZero();
        }
    }

    /** @return how many attempts of this request id started, from the function's log file (every run of the node) */
    private static long startsOnDisk(Path data, String function, String requestId) throws java.io.IOException {
        try (var lines = Files.lines(data.resolve("functions").resolve(function).resolve("function.log"))) {
            return lines.filter(l -> l.contains("START RequestId: " + requestId)).count();
        }
    }

    /** @return how many events the node's queue holds on disk */
    static long pending(Path data) throws java.io.IOException {
        Path dir = data.resolve("events/pending");
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (var files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".json")).count();
        }
    }
}
