package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.client.InvocationResult;
import dev.thaw.core.StartKind;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Snapshots go to the encrypted, chunked store and come back from it: a node restarted on the same
 * data directory has no working copy of the images (they lived on tmpfs) and restores its first
 * cold start from the store; the store reports the snapshot's chunks and tiers; GC keeps it. Real
 * CRIU images restored from every tier, for every chunk size, with encryption on and off.
 */
class SnapshotStoreIT {

    @Test
    void aRestartedNodeRestoresFromTheStore() throws Exception {
        assumeTrue(TestNode.criuAvailable(), "CRIU is not usable here (run scripts/install-criu.sh as root)");
        Path data;
        JsonNode stored;
        try (TestNode first = new TestNode()) {
            first.deploy("stored", TestNode.TF + "Greeter::handle");
            first.primeSnapshot("stored", "{\"name\":\"a\",\"times\":1}");
            stored = awaitDurable(first, "stored");
            assertThat(stored.at("/store/chunks").asInt()).isPositive();
            assertThat(stored.at("/store/tiers").toString()).contains("memory").contains("disk").contains("s3");
            assertThat(first.client.snapshots().path("snapshots")).hasSize(1);
            data = first.stopKeepingData();

            try (TestNode second = new TestNode(data, true, Duration.ofMinutes(5), 100)) {
                InvocationResult r = second.invoke("stored", "{\"name\":\"b\",\"times\":2}");
                assertThat(r.startKind()).isEqualTo(StartKind.RESTORE);
                assertThat(r.bodyAsString()).isEqualTo("{\"message\":\"Hi b Hi b\"}");
                assertThat(second.client.metrics()).contains("thaw_store_tier_hits_total")
                        .containsPattern("(?m)^thaw_store_background_boosts_total [0-9.]+(E[0-9]+)?$");

                JsonNode gc = second.client.storeGc();
                assertThat(gc.path("manifests").asInt()).as("the snapshot and its base image").isEqualTo(2);
                second.client.evict("stored");
                assertThat(second.invoke("stored", "{\"name\":\"c\",\"times\":1}").startKind()).isEqualTo(StartKind.RESTORE);
            }
        }
    }

    /**
     * A single node holds its snapshot's publish while invocations keep coming, and a node stopping
     * stores what it held: the node restarted on the same data restores from the store.
     */
    @Test
    void aPublishWaitsForAQuietNodeAndAStoppingNodeStoresWhatItHeld() throws Exception {
        assumeTrue(TestNode.criuAvailable(), "CRIU is not usable here (run scripts/install-criu.sh as root)");
        try (TestNode first = new TestNode()) {
            first.deploy("held", TestNode.TF + "Greeter::handle");
            BackToBack calls = new BackToBack(first, "held");
            Eventually.poll(() -> first.client.describe("held").snapshot().state(), "ready"::equals,
                    Duration.ofSeconds(60), Duration.ofMillis(50));
            long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
            while (System.nanoTime() < until) {
                assertThat(first.client.snapshot("held").at("/store/chunks").asInt(0))
                        .as("stored while the node serves calls back to back").isZero();
                Thread.sleep(100);
            }
            assertThat(calls.answered.get()).as("calls answered meanwhile").isPositive();
            Path data = first.stopKeepingData(); // the calls still coming
            calls.close();

            try (TestNode second = new TestNode(data, true, Duration.ofMinutes(5), 100)) {
                assertThat(second.client.logs("held", 100)).containsPattern("SNAPSHOT stored in \\d+ ms: .*; held \\d{4,} ms"
                        + " first, for a quiet node");
                InvocationResult r = second.invoke("held", "{\"name\":\"b\",\"times\":1}");
                assertThat(r.startKind()).isEqualTo(StartKind.RESTORE);
                assertThat(r.bodyAsString()).isEqualTo("{\"message\":\"Hi b\"}");
                assertThat(r.thawHeader("Restore-Source")).contains("store");
                assertThat(second.client.logs("held", 100)).doesNotContain("RESTORE_FAILED");
            }
        }
    }

    /**
     * An eviction of a snapshot whose publish is held for a quiet node does not refuse (its working
     * copy is its only copy): the publish goes ahead at once, the eviction waits for it, and the
     * next cold start restores from the store, while the calls keep coming.
     */
    @Test
    void evictingASnapshotHeldForAQuietNodeStoresItFirst() throws Exception {
        assumeTrue(TestNode.criuAvailable(), "CRIU is not usable here (run scripts/install-criu.sh as root)");
        try (TestNode node = new TestNode()) {
            node.deploy("held-evict", TestNode.TF + "Greeter::handle");
            try (BackToBack calls = new BackToBack(node, "held-evict")) {
                JsonNode report = Eventually.poll(() -> node.client.snapshot("held-evict"),
                        r -> r.path("publish").asText().startsWith("held"), Duration.ofSeconds(60), Duration.ofMillis(50));
                assertThat(report.at("/store/chunks").asInt(0)).as("%s", report).isZero();
                long start = System.nanoTime();
                JsonNode dropped = node.client.evictSnapshot("held-evict", java.util.Set.of("working"));
                long ms = (System.nanoTime() - start) / 1_000_000;
                assertThat(dropped.toString()).contains("working");
                assertThat(ms).as("stored at once, not after the 30 s a busy node holds a publish").isLessThan(20_000);
                assertThat(node.client.logs("held-evict", 200)).containsPattern("SNAPSHOT stored in \\d+ ms: .*; held \\d+ ms"
                        + " first, for a quiet node");
                node.client.evict("held-evict");
                InvocationResult r = node.invoke("held-evict", "{\"name\":\"b\",\"times\":1}");
                assertThat(r.bodyAsString()).isEqualTo("{\"message\":\"Hi b\"}");
                assertThat(calls.answered.get()).as("calls answered meanwhile").isPositive();
            }
            InvocationResult r = node.invoke("held-evict", "{\"name\":\"c\",\"times\":1}");
            assertThat(r.bodyAsString()).isEqualTo("{\"message\":\"Hi c\"}");
        }
    }

    /**
     * Restores from each tier in turn (working copy, memory, disk, S3), each reporting where its
     * bytes came from; dedup figures; and the errors of the evict and compare API.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0} KiB chunks, encryption {1}")
    @org.junit.jupiter.params.provider.CsvSource({"64, true", "512, true", "2048, true", "512, false"})
    void everyTierServesARestoreAndSaysSo(int chunkKib, boolean encryption) throws Exception {
        assumeTrue(TestNode.criuAvailable(), "CRIU is not usable here (run scripts/install-criu.sh as root)");
        try (TestNode node = new TestNode(dev.thaw.node.StoreSettings.DEFAULT.withChunkSize(chunkKib * 1024)
                .withEncryption(encryption).withWarmUpReads(false))) {
            node.deploy("tiers", TestNode.TF + "Greeter::handle");
            node.deploy("other", TestNode.TF + "Greeter::handle");
            String input = "{\"name\":\"t\",\"times\":1}";
            node.primeSnapshot("tiers", input);
            node.primeSnapshot("other", input);
            awaitDurable(node, "tiers");
            awaitDurable(node, "other");

            assertThat(node.invoke("tiers", input).thawHeader("Restore-Source")).contains("local");
            for (String[] step : new String[][] {{"working", "memory"}, {"working,memory", "disk"}, {"working,memory,disk", "s3"}}) {
                node.client.evict("tiers");
                JsonNode dropped = node.client.evictSnapshot("tiers", java.util.Set.of(step[0].split(",")));
                assertThat(dropped.path("dropped").path("working").asLong()).isPositive();
                InvocationResult r = node.invoke("tiers", input);
                assertThat(r.startKind()).isEqualTo(StartKind.RESTORE);
                assertThat(r.bodyAsString()).isEqualTo("{\"message\":\"Hi t\"}");
                assertThat(r.thawHeader("Restore-Source")).contains("store");
                assertThat(r.thawHeader("Fetch-Bytes").orElseThrow()).as("restore after evicting " + step[0])
                        .contains(step[1] + "=");
                if (step[1].equals("s3")) {
                    assertThat(r.thawHeader("Fetch-Bytes").orElseThrow()).doesNotContain("disk=");
                }
            }
            assertThat(node.client.metrics()).contains("thaw_restore_fetch_bytes_total{function_name=\"tiers\",tier=\"s3\"}")
                    .contains("thaw_restore_total{function_name=\"tiers\",mode=\"eager\",source=\"store\"}");

            JsonNode same = node.client.compareSnapshots("tiers", "other");
            assertThat(same.path("bytes").asLong()).isPositive();
            assertThat(same.path("dedupRatio").asDouble()).isGreaterThanOrEqualTo(1.0);

            org.assertj.core.api.Assertions.assertThatThrownBy(() -> node.client.evictSnapshot("tiers", java.util.Set.of("s3")))
                    .hasMessageContaining("name one or more of working, memory, disk");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> node.client.evictSnapshot("nope", java.util.Set.of("memory")))
                    .hasMessageContaining("nope");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> node.client.compareSnapshots("tiers", "nope"))
                    .hasMessageContaining("nope");
            node.deploy("unstored", TestNode.TF + "Greeter::handle");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> node.client.evictSnapshot("unstored", java.util.Set.of("working")))
                    .hasMessageContaining("not in the snapshot store");
            assertThat(node.invoke("tiers", input).bodyAsString()).as("node still healthy").isEqualTo("{\"message\":\"Hi t\"}");
        }
    }

    private static JsonNode awaitDurable(TestNode node, String name) throws InterruptedException {
        JsonNode report = Eventually.poll(() -> node.client.snapshot(name), r -> r.at("/store/durable").asBoolean(false),
                Duration.ofSeconds(90), Duration.ofMillis(200));
        assertThat(report.at("/store/durable").asBoolean()).as("snapshot uploaded to the S3 tier: " + report).isTrue();
        return report;
    }

    /** Greets through the function back to back on a thread of its own until closed, or until the node stops under it. */
    private static final class BackToBack implements AutoCloseable {
        final java.util.concurrent.atomic.AtomicInteger answered = new java.util.concurrent.atomic.AtomicInteger();
        private final java.util.concurrent.atomic.AtomicBoolean calling = new java.util.concurrent.atomic.AtomicBoolean(true);
        private final Thread caller;

        BackToBack(TestNode node, String function) {
            caller = Thread.ofPlatform().start(() -> {
                while (calling.get()) {
                    try {
                        node.invoke(function, "{\"name\":\"a\",\"times\":1}");
                        answered.incrementAndGet();
                    } catch (RuntimeException e) {
                        return; // the node stopped under the calls
                    }
                }
            });
        }

        @Override
        public void close() throws InterruptedException {
            calling.set(false);
            caller.join();
        }
    }
}
