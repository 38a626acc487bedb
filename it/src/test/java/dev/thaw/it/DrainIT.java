package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.client.ThawClient;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * SIGTERM to a real {@code thaw up} under load loses no accepted invocation: the ones instances run and
 * the one waiting for an instance answer 200 with their result, new ones are refused with a 503 that
 * says the node is shutting down, the process then exits, and an Event waiting for its retry runs at
 * the next start on the same data directory.
 */
class DrainIT {
    private static final Pattern LISTENING = Pattern.compile("thaw node listening on (http://127\\.0\\.0\\.1:\\d+)");
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Duration POLL = Duration.ofMillis(50);

    @Test
    void sigtermDrainsAcceptedInvocationsRefusesNewOnesAndKeepsQueuedEvents() throws Exception {
        assumeTrue(TestNode.criuAvailable(), "CRIU is not usable here (run scripts/install-criu.sh as root)");
        Path data = Files.createTempDirectory("thaw-it-drain-");
        Path log = data.resolveSibling(data.getFileName() + ".log");
        Process up = new ProcessBuilder(CliJar.command("up", "--port", "0", "--data-dir", data.resolve("node").toString(),
                "--drain-grace-s", "30", "--event-retry-delay-ms", "5000", "--store-no-warm-up"))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        HttpClient http = HttpClient.newHttpClient();
        String failing;
        try {
            String url = Eventually.poll(() -> listening(log), m -> m != null || !up.isAlive(), WAIT, POLL);
            assertThat(url).as("thaw up did not start: %s", Files.readString(log)).isNotNull();
            URI uri = URI.create(url);
            token = Files.readString(data.resolve("node/api-token")).strip();
            try (ThawClient client = ThawClient.create(uri, token)) {
                client.deploy(new FunctionManifest("sleeper", TestNode.TF + "Sleeper::handle", null, 256, 30_000, Map.of(),
                        2, true), TestNode.TEST_FUNCTIONS);
                client.deploy(new FunctionManifest("fails", TestNode.TF + "HandlerThrows::handle", null, 256, 30_000,
                        Map.of(), 1, true), TestNode.TEST_FUNCTIONS);
                HttpResponse<String> accepted = http.send(invocation(uri, "fails", "{}").header("X-Amz-Invocation-Type", "Event")
                        .build(), HttpResponse.BodyHandlers.ofString());
                assertThat(accepted.statusCode()).isEqualTo(202);
                failing = accepted.headers().firstValue("X-Amz-Request-Id").orElseThrow();
                // its first attempt fails; its retry is due 5 s later, after the node has gone
                assertThat(Eventually.poll(() -> client.logs("fails", 100), l -> l.contains("ERROR RequestId: " + failing),
                        WAIT, POLL)).contains("ERROR RequestId: " + failing);

                // two invocations instances run and one waiting for an instance (maxInstances 2)
                List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    inFlight.add(http.sendAsync(invocation(uri, "sleeper", "{\"ms\":3000}").build(),
                            HttpResponse.BodyHandlers.ofString()));
                }
                var counts = Eventually.poll(() -> client.describe("sleeper").instances(),
                        c -> c.busy() + c.starting() == 2 && c.queued() == 1, WAIT, POLL);
                assertThat(counts.queued()).as("one waits for an instance").isEqualTo(1);

                up.destroy(); // SIGTERM
                assertThat(Eventually.poll(() -> health(http, uri), s -> s == 503, WAIT, Duration.ofMillis(20)))
                        .as("draining: /healthz says so").isEqualTo(503);
                HttpResponse<String> refused = http.send(invocation(uri, "sleeper", "{\"ms\":1}").build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(refused.statusCode()).isEqualTo(503);
                assertThat(refused.headers().firstValue("x-amzn-ErrorType")).hasValue("ResourceNotReadyException");
                assertThat(Json.mapper().readTree(refused.body()).path("message").asText())
                        .isEqualTo("the node is shutting down and accepts no new work");
                HttpResponse<String> refusedEvent = http.send(invocation(uri, "sleeper", "{}")
                        .header("X-Amz-Invocation-Type", "Event").build(), HttpResponse.BodyHandlers.ofString());
                assertThat(refusedEvent.statusCode()).as("no new Event either").isEqualTo(503);

                for (var f : inFlight) {
                    HttpResponse<String> r = f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
                    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                    assertThat(r.body()).isEqualTo("{\"slept\":3000}");
                    assertThat(r.headers().firstValue("X-Amz-Function-Error")).isEmpty();
                }
            }
            assertThat(up.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).as("thaw up exits once drained").isTrue();
            assertThat(Files.readString(log)).doesNotContain("InterruptedException", "the drain grace of");
            assertThat(TestNode.processesUnder(data)).as("no instance left running").isEmpty();
        } finally {
            up.destroyForcibly();
            up.waitFor(10, TimeUnit.SECONDS);
        }
        assertThat(EventsIT.pending(data.resolve("node"))).as("the Event waiting for its retry is kept").isEqualTo(1);

        try (TestNode next = new TestNode(data.resolve("node"), true, b -> b.eventRetryDelay(Duration.ofMillis(300)))) {
            JsonNode letters = Eventually.poll(() -> next.client.deadLetters("fails").path("deadLetters"), l -> l.size() == 1,
                    WAIT, Duration.ofMillis(100));
            assertThat(letters.get(0).path("requestId").asText()).isEqualTo(failing);
            assertThat(letters.get(0).path("attempts").asInt()).as("one attempt before the restart, two after").isEqualTo(3);
        } finally {
            Files.deleteIfExists(log);
            dev.thaw.core.FileTrees.deleteQuietly(data);
        }
    }

    /** The node's API token, read from its data directory once it runs. */
    private static String token;

    private static HttpRequest.Builder invocation(URI uri, String function, String payload) {
        return HttpRequest.newBuilder(uri.resolve("/2015-03-31/functions/" + function + "/invocations"))
                .header("Authorization", "Bearer " + token)
                .POST(HttpRequest.BodyPublishers.ofString(payload, StandardCharsets.UTF_8));
    }

    private static int health(HttpClient http, URI uri) {
        try {
            return http.send(HttpRequest.newBuilder(uri.resolve("/healthz")).build(), HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    private static String listening(Path log) throws java.io.IOException {
        Matcher m = LISTENING.matcher(Files.readString(log));
        return m.find() ? m.group(1) : null;
    }
}
