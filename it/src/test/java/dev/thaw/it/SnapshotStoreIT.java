package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.client.InvocationResult;
import dev.thaw.client.StartKind;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Snapshots go to the encrypted, chunked store and come back from it: a node restarted on the same
 * data directory has no working copy of the images (they lived on tmpfs) and restores its first
 * cold start from the store; the store reports the snapshot's chunks and tiers; GC keeps it.
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
                assertThat(second.client.metrics()).contains("thaw_store_tier_hits_total");

                JsonNode gc = second.client.storeGc();
                assertThat(gc.path("manifests").asInt()).isEqualTo(1);
                second.client.evict("stored");
                assertThat(second.invoke("stored", "{\"name\":\"c\",\"times\":1}").startKind()).isEqualTo(StartKind.RESTORE);
            }
        }
    }

    private static JsonNode awaitDurable(TestNode node, String name) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        JsonNode report = node.client.snapshot(name);
        while (System.nanoTime() < deadline && !report.at("/store/durable").asBoolean(false)) {
            Thread.sleep(200);
            report = node.client.snapshot(name);
        }
        assertThat(report.at("/store/durable").asBoolean()).as("snapshot uploaded to the S3 tier: " + report).isTrue();
        return report;
    }
}
