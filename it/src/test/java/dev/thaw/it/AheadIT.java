package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.client.InvocationResult;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.Json;
import dev.thaw.core.StartKind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Work ahead of demand on a real node: a burst on a function scaled to zero is absorbed by restores,
 * pre-restored clones answer as such and are refilled after an evict, a redeploy retires the old
 * version's clones, a clone restored ahead rehearses a primed function's priming event, a learned
 * chain restores the next function and calls its freshen hook, and a
 * freshen hook that throws or overruns is cut off without harm to the invocation after it.
 */
class AheadIT {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Duration POLL = Duration.ofMillis(100);
    private static TestNode node;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(TestNode.criuAvailable(), "CRIU is not usable here (run scripts/install-criu.sh as root)");
        node = new TestNode();
    }

    @AfterAll
    static void stop() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    private static FunctionManifest manifest(String name, String handler, int max, FunctionManifest.Scaling scaling,
                                             Map<String, String> env) {
        return new FunctionManifest(name, TestNode.TF + handler, null, 256, 30_000, env, max, true, null, null, scaling);
    }

    private static int boots(String function) {
        Matcher m = Pattern.compile("thaw_function_coldstarts_total\\{function_name=\"" + function
                + "\",start=\"boot\"} (\\d+)").matcher(node.client.metrics());
        return m.find() ? (int) Double.parseDouble(m.group(1)) : 0;
    }

    @Test
    void aBurstOf32OnAFunctionScaledToZeroIsAnsweredByRestoresAndNoSecondBoot() throws Exception {
        node.client.deploy(manifest("burst", "Sleeper::handle", 8, null, Map.of()), TestNode.TEST_FUNCTIONS);
        node.primeSnapshot("burst", "{\"ms\":1}");
        List<Future<InvocationResult>> burst = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 32; i++) {
                burst.add(pool.submit(() -> node.invoke("burst", "{\"ms\":300}")));
            }
        }
        Map<StartKind, Integer> kinds = new java.util.EnumMap<>(StartKind.class);
        for (Future<InvocationResult> f : burst) {
            InvocationResult r = f.get();
            assertThat(r.status()).as(r.bodyAsString()).isEqualTo(200);
            kinds.merge(r.startKind(), 1, Integer::sum);
        }
        assertThat(kinds).as("every one answered, none booted: %s", kinds).doesNotContainKey(StartKind.BOOT);
        assertThat(kinds.getOrDefault(StartKind.RESTORE, 0) + kinds.getOrDefault(StartKind.PREWARMED, 0)).isPositive();
        assertThat(boots("burst")).as("the boot that took the snapshot, and no other").isEqualTo(1);
        JsonNode scaling = Json.mapper().valueToTree(node.client.describe("burst").scaling());
        assertThat(scaling.path("autoscaler").path("desiredInstances").asInt()).isPositive();
    }

    @Test
    void prewarmedClonesAnswerAsSuchAndComeBackAfterAnEvict() throws Exception {
        node.client.deploy(manifest("warm2", "Sleeper::handle", 4, new FunctionManifest.Scaling(null, null, 2, null, null),
                Map.of()), TestNode.TEST_FUNCTIONS);
        assertThat(node.invoke("warm2", "{\"ms\":1}").startKind()).isEqualTo(StartKind.BOOT);
        awaitIdle("warm2", 3); // the booted instance and two clones restored from its snapshot
        node.client.evict("warm2");
        awaitIdle("warm2", 2); // the prewarm level refilled right after
        List<Future<InvocationResult>> two = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 2; i++) {
                two.add(pool.submit(() -> node.invoke("warm2", "{\"ms\":500}")));
            }
        }
        for (Future<InvocationResult> f : two) {
            InvocationResult r = f.get();
            assertThat(r.startKind()).as("answered by a pre-restored clone").isEqualTo(StartKind.PREWARMED);
            assertThat(r.thawHeader("Prewarmed-Ms")).isPresent();
        }
        assertThat(node.client.logs("warm2", 50)).contains("Start: prewarmed", "Prewarmed: ");
        assertThat(node.client.metrics()).contains("start=\"prewarmed\"");

        // a redeploy retires the old version's clones; the new version restores its own once it has a snapshot
        node.client.deploy(manifest("warm2", "Sleeper::handle", 4, new FunctionManifest.Scaling(null, null, 2, null, null),
                Map.of("V", "2")), TestNode.TEST_FUNCTIONS);
        assertThat(Eventually.poll(() -> node.client.describe("warm2").instances().idle(), n -> n == 0, WAIT, POLL))
                .as("the old version's clones and instances retired").isZero();
        assertThat(node.invoke("warm2", "{\"ms\":1}").startKind()).isEqualTo(StartKind.BOOT);
        awaitIdle("warm2", 3);
    }

    @Test
    void aPreRestoredCloneOfAPrimedFunctionRehearsesItsPrimingEventBeforeItsFirstInvocation() throws Exception {
        FunctionManifest primed = manifest("rehearsed", "Counter::handle", 4,
                new FunctionManifest.Scaling(null, null, 1, null, null), Map.of())
                .withPriming(new FunctionManifest.Priming(Json.mapper().readTree("{\"priming\":true}"), 3));
        node.client.deploy(primed, TestNode.TEST_FUNCTIONS);
        InvocationResult booted = node.invoke("rehearsed", "{}");
        assertThat(booted.startKind()).isEqualTo(StartKind.BOOT);
        assertThat(invocations(booted)).as("3 priming calls, then this one").isEqualTo(4);
        awaitIdle("rehearsed", 2); // the booted instance and its clone
        node.client.evict("rehearsed");
        awaitIdle("rehearsed", 1); // a clone restored ahead again
        String before = String.valueOf(node.client.describe("rehearsed")); // what a failure report shows
        InvocationResult first = node.invoke("rehearsed", "{}");
        assertThat(first.startKind()).as(() -> "before the call: " + before + "; after it: "
                + node.client.describe("rehearsed") + "; the log: " + node.client.logs("rehearsed", 100))
                .isEqualTo(StartKind.PREWARMED);
        // A clone restored for a waiting invocation answers 4 (PrimingIT): the snapshot's count plus its own.
        assertThat(invocations(first)).as("the clone called the handler with its priming event again after its restore")
                .isGreaterThan(4);
    }

    private static int invocations(InvocationResult r) throws Exception {
        return Json.mapper().readTree(r.body()).get("invocations").asInt();
    }

    private static void awaitIdle(String function, int n) throws Exception {
        assertThat(Eventually.poll(() -> node.client.describe(function).instances().idle(), i -> i >= n, WAIT, POLL))
                .as("%s idle instances", function).isGreaterThanOrEqualTo(n);
    }

    @Test
    void aLearnedChainRestoresTheNextFunctionAndCallsItsFreshenHook() throws Exception {
        node.client.deploy(manifest("step-a", "Counter::handle", 2, null, Map.of()), TestNode.TEST_FUNCTIONS);
        node.client.deploy(manifest("step-b", "Freshened::handle", 2, null, Map.of()), TestNode.TEST_FUNCTIONS);
        for (int round = 0; round < 4; round++) {
            node.invoke("step-a", "{}");
            node.invoke("step-b", "{}");
            Thread.sleep(2_200); // each round its own: past the chain window
        }
        node.client.evict("step-b");
        awaitIdle("step-b", 0);
        long before = freshens(node.client.logs("step-b", 1000));
        node.invoke("step-a", "{}");
        String log = Eventually.poll(() -> node.client.logs("step-b", 1000), l -> freshens(l) > before, WAIT, POLL);
        assertThat(log).contains("Reason: follows step-a (learned chain");
        InvocationResult b = node.invoke("step-b", "{}");
        assertThat(b.startKind()).as("B's invocation found its clone ready").isEqualTo(StartKind.PREWARMED);
        JsonNode body = Json.mapper().readTree(b.body());
        assertThat(body.path("freshened").asInt()).as("the clone ran its freshen hook").isPositive();
        assertThat(body.path("reason").asText()).startsWith("follows step-a");
        JsonNode scaling = Json.mapper().valueToTree(node.client.describe("step-b").scaling());
        assertThat(scaling.path("predictions").toString()).contains("\"from\":\"step-a\"", "\"used\":");
        assertThat(node.client.metrics()).contains("thaw_freshen_calls_total{function_name=\"step-b\",outcome=\"completed\"}");
    }

    private static long freshens(String log) {
        return log.lines().filter(l -> l.contains("FRESHEN RequestId")).count();
    }

    @Test
    void aFreshenHookThatThrowsOrOverrunsIsCutOffAndTheInvocationAfterItRuns() throws Exception {
        for (String mode : List.of("throw", "sleep")) {
            String a = "from-" + mode;
            String b = "hook-" + mode;
            node.client.deploy(manifest(b, "Freshened::handle", 2, null, Map.of("FRESHEN_MODE", mode)), TestNode.TEST_FUNCTIONS);
            node.client.deploy(manifest(a, "Counter::handle", 2, new FunctionManifest.Scaling(null, null, null, List.of(b),
                    null), Map.of()), TestNode.TEST_FUNCTIONS);
            node.invoke(b, "{}"); // B's snapshot
            node.invoke(a, "{}"); // declared chain: B's freshen hook runs on its idle instance
            String log = Eventually.poll(() -> node.client.logs(b, 200), l -> l.contains("FRESHEN_FAILED"), WAIT, POLL);
            assertThat(log).contains(mode.equals("throw") ? "freshen failed on purpose" : "Freshen.Timeout");
            long start = System.nanoTime();
            InvocationResult r = node.invoke(b, "{}");
            assertThat(r.status()).isEqualTo(200);
            assertThat((System.nanoTime() - start) / 1e6).as("the hook held nothing up").isLessThan(3_000);
            assertThat(Json.mapper().readTree(r.body()).path("freshened").asInt()).isZero();
        }
    }
}
