package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.client.InvocationResult;
import dev.thaw.core.StartKind;
import dev.thaw.core.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Clones of one snapshot: restored together, unique, with hooks run in the documented order. */
class ClonesIT extends WithSnapshotNode {

    @Test
    void eightConcurrentInvocationsRestoreEightClones() throws Exception {
        // Each call runs long enough that no clone can finish and take a second one: eight calls in
        // flight need eight instances, however the arrivals spread on a loaded machine.
        node.deploy("burst", TestNode.TF + "Sleeper::handle");
        node.primeSnapshot("burst", "{\"ms\":1}");

        int n = 8;
        CyclicBarrier barrier = new CyclicBarrier(n);
        List<Future<InvocationResult>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(n)) {
            for (int i = 0; i < n; i++) {
                int ms = 1500 + i;
                results.add(pool.submit(() -> {
                    barrier.await();
                    return node.invoke("burst", "{\"ms\":" + ms + "}");
                }));
            }
        }
        long restores = 0;
        for (int i = 0; i < n; i++) {
            InvocationResult r = results.get(i).get();
            assertThat(r.bodyAsString()).isEqualTo("{\"slept\":" + (1500 + i) + "}");
            restores += r.startKind() == StartKind.RESTORE ? 1 : 0;
        }
        assertThat(restores).as("cold starts served by restoring a clone").isEqualTo(n);
        assertThat(node.client.describe("burst").instances().idle()).isEqualTo(n);
        assertThat(node.client.describe("burst").snapshot().restores()).isGreaterThanOrEqualTo(n);
    }

    @Test
    void clonesOfOneSnapshotDoNotShareRandomState() throws Exception {
        node.deploy("unique", TestNode.TF + "Uniqueness::handle");
        node.primeSnapshot("unique", "{}");

        // Two clones restored from the same image, one after the other.
        InvocationResult ra = node.invoke("unique", "{}");
        node.client.evict("unique");
        InvocationResult rb = node.invoke("unique", "{}");
        assertThat(ra.startKind()).isEqualTo(StartKind.RESTORE);
        assertThat(rb.startKind()).isEqualTo(StartKind.RESTORE);
        JsonNode x = Json.mapper().readTree(ra.body());
        JsonNode y = Json.mapper().readTree(rb.body());
        for (String field : List.of("mathRandom", "newRandom", "threadLocalRandom", "splittableRandom", "uuid",
                "secureRandom", "initRandom")) {
            assertThat(x.get(field)).as(field + " must differ between clones").isNotNull().isNotEqualTo(y.get(field));
        }
    }

    @Test
    void hooksRunInOrderAroundTheCheckpointInTheOriginalAndInEveryClone() throws Exception {
        node.deploy("hooks", TestNode.TF + "Hooks::handle");
        List<String> expected = List.of("init", "before:C", "before:B", "before:A", "after:A", "after:B", "after:C");

        InvocationResult booted = node.primeSnapshot("hooks", "{}");
        InvocationResult restored = node.invoke("hooks", "{}");

        assertThat(restored.startKind()).isEqualTo(StartKind.RESTORE);
        assertThat(events(booted)).containsExactlyElementsOf(expected);
        assertThat(events(restored)).containsExactlyElementsOf(expected);
    }

    @Test
    void aCloneStillRestoringWhenTheNodeStopsIsNoFailedRestore() throws Exception {
        java.nio.file.Path data = java.nio.file.Files.createTempDirectory("thaw-it-");
        // C's afterRestore sleeps: the prewarm clone is still being restored when the node stops
        dev.thaw.core.FunctionManifest slow = new dev.thaw.core.FunctionManifest("slow-restore", TestNode.TF + "Hooks::handle",
                null, 256, 30_000, Map.of("AFTER_RESTORE_SLEEP_MS", "3000"), 4, true, null, null,
                new dev.thaw.core.FunctionManifest.Scaling(0, 1.0, 1, List.of(), null));
        TestNode own = new TestNode(data, true, java.time.Duration.ofMinutes(5), 100);
        try {
            own.client.deploy(slow, TestNode.TEST_FUNCTIONS);
            own.primeSnapshot("slow-restore", "{}"); // the evict is followed by the prewarm level's refill
            assertThat(Eventually.poll(() -> own.client.describe("slow-restore").instances().starting(), n -> n > 0,
                    java.time.Duration.ofSeconds(10), java.time.Duration.ofMillis(20))).as("a clone being restored").isPositive();
            Thread.sleep(300); // CRIU is done; the clone's hooks sleep
        } finally {
            own.node.close(); // the pool stops the clone before it is ready
            own.client.close();
        }
        String log = java.nio.file.Files.readString(data.resolve("functions/slow-restore/function.log"));
        assertThat(log).as("a restore the node stopped is no failed restore").doesNotContain("RESTORE_FAILED");
        TestNode again = new TestNode(data, true, java.time.Duration.ofMinutes(5), 100);
        try {
            InvocationResult restored = again.invoke("slow-restore", "{}");
            assertThat(restored.startKind()).as("the snapshot is still there after the restart").isIn(StartKind.RESTORE,
                    StartKind.PREWARMED);
        } finally {
            again.close();
        }
    }

    @Test
    void aCracAwareLibraryIsNotifiedWithoutKnowingAboutThaw() throws Exception {
        node.deploy("library", TestNode.TF + "LibraryUser::handle");
        node.primeSnapshot("library", "{}");
        JsonNode restored = Json.mapper().readTree(node.invoke("library", "{}").body());
        assertThat(restored.get("open").asBoolean()).isTrue();
        assertThat(restored.get("closes").asInt()).isEqualTo(1);
        assertThat(restored.get("reopens").asInt()).isEqualTo(1);
    }

    @Test
    void theRuntimesWarmUpBeforeTheCheckpointNeverRunsTheHandler() throws Exception {
        node.deploy("counter", TestNode.TF + "Counter::handle");
        InvocationResult booted = node.primeSnapshot("counter", "{}");
        InvocationResult restored = node.invoke("counter", "{}");

        assertThat(restored.startKind()).isEqualTo(StartKind.RESTORE);
        assertThat(Json.mapper().readTree(booted.body()).get("invocations").asInt()).as("the original's first").isEqualTo(1);
        assertThat(Json.mapper().readTree(restored.body()).get("invocations").asInt()).as("the clone's first").isEqualTo(1);
        assertThat(node.client.logs("counter", 50)).doesNotContain("warm-up failed")
                .contains("the warm-up runs the handler's own JSON reading and writing (never the handler) over 6 made-up "
                        + "events and an empty one of java.lang.Object and 24 results of java.util.Map<java.lang.String, java.lang.Integer>");
    }

    @Test
    void theWarmUpReadsAndWritesTheHandlersOwnRecordsAndTheClonesAnswerAsTheOriginal() throws Exception {
        node.deploy("greeter", TestNode.TF + "Greeter::handle");
        InvocationResult booted = node.primeSnapshot("greeter", "{\"name\":\"Ada\",\"times\":2}");
        InvocationResult restored = node.invoke("greeter", "{\"name\":\"Bo\",\"times\":1}");

        assertThat(restored.startKind()).isEqualTo(StartKind.RESTORE);
        assertThat(booted.bodyAsString()).isEqualTo("{\"message\":\"Hi Ada Hi Ada\"}");
        assertThat(restored.bodyAsString()).isEqualTo("{\"message\":\"Hi Bo\"}");
        assertThat(node.client.logs("greeter", 50)).contains("over 6 made-up events and an empty one of dev.thaw.testfunctions.GreetRequest "
                + "and 6 results of dev.thaw.testfunctions.GreetResponse");
    }

    private static List<String> events(InvocationResult r) throws Exception {
        List<String> out = new ArrayList<>();
        Json.mapper().readTree(r.body()).forEach(n -> out.add(n.asText()));
        return out;
    }
}
