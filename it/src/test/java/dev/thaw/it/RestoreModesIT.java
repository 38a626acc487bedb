package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.client.InvocationResult;
import dev.thaw.core.StartKind;
import dev.thaw.core.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Eager, lazy and REAP restores with real CRIU and thaw's own lazy-pages daemon: byte-exact memory
 * under threads, heap growth and unmapping; working sets recorded, prefetched and re-recorded;
 * pages served from the store; several lazy clones at once; a page source that fails mid-restore.
 */
@Timeout(300)
class RestoreModesIT extends WithSnapshotNode {
    private static final String TOUCHER = TestNode.TF + "MemoryToucher::handle";

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"eager", "lazy", "reap"})
    void everyModeRestoresMemoryExactlyWhileTheFunctionForksGrowsAndUnmaps(String mode) throws Exception {
        String name = "touch-" + mode;
        node.deploy(name, TOUCHER, mode, 512);
        String input = "{\"mb\":8,\"growMb\":16,\"unmapMb\":8}";
        InvocationResult booted = node.primeSnapshot(name, input);

        InvocationResult first = node.invoke(name, input);
        if (mode.equals("reap")) {
            node.awaitLog(name, "WORKING_SET recorded"); // stored in the background, moments after the answer
        }
        node.client.evict(name);
        InvocationResult second = node.invoke(name, input);

        for (InvocationResult r : List.of(first, second)) {
            assertThat(r.startKind()).isEqualTo(StartKind.RESTORE);
            assertThat(r.thawHeader("Restore-Mode")).contains(mode);
            assertThat(json(r)).isEqualTo(json(booted));
        }
        if (mode.equals("eager")) {
            assertThat(first.thawHeader("Restore-Source")).contains("local");
            assertThat(count(first, "Pages-Up-Front")).as("the working copy's pages streamed in beside CRIU").isPositive();
        }
        if (!mode.equals("eager")) {
            assertThat(count(first, "Faults-On-Demand")).as("first restore: pages served on fault").isPositive();
            assertThat(count(first, "Zero-Page-Faults")).as("reported (faults on memory the image lacks)").isNotNegative();
        }
        if (mode.equals("reap")) {
            assertThat(count(second, "Pages-Up-Front")).as("second restore installs the recorded working set").isPositive();
            assertThat(count(second, "Faults-On-Demand")).isLessThan(count(first, "Faults-On-Demand") / 4);
            assertThat(node.client.logs(name, 50)).contains("WORKING_SET recorded");
            JsonNode ws = node.client.snapshot(name).path("workingSet");
            assertThat(ws.path("chunkSize").asInt()).as("read whole, so stored in large chunks").isEqualTo(4 << 20);
            assertThat(ws.path("logicalBytes").asLong()).isPositive();
        } else {
            assertThat(node.client.snapshot(name).path("workingSet").isNull()).as("no working set in mode " + mode).isTrue();
        }
        node.client.delete(name);
    }

    @Test
    void aWorkingSetThatNoLongerFitsIsRecordedAgain() throws Exception {
        String name = "touch-grows";
        node.deploy(name, TOUCHER, "reap", 512);
        node.primeSnapshot(name, "{\"mb\":1}");
        node.invoke(name, "{\"mb\":1}"); // records a small working set
        node.awaitLog(name, "WORKING_SET recorded");
        node.client.evict(name);
        InvocationResult small = node.invoke(name, "{\"mb\":1}");
        node.client.evict(name);
        InvocationResult large = node.invoke(name, "{\"mb\":40}");
        assertThat(count(large, "Faults-On-Demand")).as("40 MiB outside the recorded set")
                .isGreaterThan(5 * count(small, "Faults-On-Demand") + 1000);
        node.awaitLog(name, "WORKING_SET re-recorded");
        node.client.evict(name);
        InvocationResult again = node.invoke(name, "{\"mb\":40}");
        assertThat(count(again, "Working-Set-Bytes")).isGreaterThan(count(small, "Working-Set-Bytes") + 30L * 1024 * 1024);
        assertThat(count(again, "Faults-On-Demand")).isLessThan(count(large, "Faults-On-Demand") / 4);
        assertThat(json(again)).isEqualTo(json(large));
        node.client.delete(name);
    }

    @Test
    void aFewFaultsOutsideTheRecordedSetExtendIt() throws Exception {
        String name = "touch-extends";
        node.deploy(name, TOUCHER, "reap", 512);
        node.primeSnapshot(name, "{\"mb\":1}");
        node.invoke(name, "{\"mb\":1}"); // records
        node.awaitLog(name, "WORKING_SET recorded");
        node.client.evict(name);
        InvocationResult wider = node.invoke(name, "{\"mb\":2}"); // 256 pages more: well under half the set
        // about 256 faults: where the new megabyte lands in the heap differs from clone to clone, and a
        // few of its pages may already be in the recorded set (CI under load: 251 and 253 seen)
        assertThat(count(wider, "Faults-On-Demand")).isGreaterThanOrEqualTo(200);
        node.awaitLog(name, "WORKING_SET extended");
        assertThat(node.client.logs(name, 50)).doesNotContain("WORKING_SET re-recorded");
        node.client.evict(name);
        InvocationResult again = node.invoke(name, "{\"mb\":2}");
        // Not all 256 more: the install skips pages of the set that are no longer lazy where the set
        // has them when it gets there (unmapped, or moved by mremap, by the JVM's own threads, which run
        // while CRIU finishes), a number that differs from restore to restore (CI: 19 short of 256 once)
        assertThat(count(again, "Pages-Up-Front")).as("the extension's 256 pages are now installed up front")
                .isGreaterThanOrEqualTo(count(wider, "Pages-Up-Front") + 192);
        // pages a clone touches for the first time differ from clone to clone (JIT, GC timing): CI saw
        // 68 of them once, so the bound is half the extension, not all of it
        assertThat(count(again, "Faults-On-Demand")).as("and no longer fault")
                .isLessThan(count(wider, "Faults-On-Demand") - 128);
        assertThat(count(again, "Working-Set-Bytes")).isGreaterThan(count(wider, "Working-Set-Bytes"));
        assertThat(json(again)).isEqualTo(json(wider));
        node.client.delete(name);
    }

    @Test
    void aRestoredInstanceLetsGoOfItsPageMemoryOnceEveryPageIsInAndRunsOn() throws Exception {
        String name = "touch-frees";
        node.deploy(name, TOUCHER, "reap", 512);
        InvocationResult booted = node.primeSnapshot(name, "{\"mb\":8}");
        node.invoke(name, "{\"mb\":8}");
        node.awaitLog(name, "WORKING_SET recorded");
        node.awaitDurable(name);
        node.client.evict(name);
        node.client.evictSnapshot(name, Set.of("working")); // from the store: decrypted chunks, prefetched set

        InvocationResult restored = node.invoke(name, "{\"mb\":8}");
        assertThat(restored.thawHeader("Restore-Source")).contains("store");
        assertThat(count(restored, "Pages-Up-Front")).isPositive();

        // The daemon copies the rest of the image in the background, then the node frees what it held
        // for serving pages while the instance lives on.
        String held = "thaw_restore_held_bytes{function_name=\"" + name + "\"} ";
        assertThat(awaitMetrics(m -> m.contains(held + "0.0"))).contains(held + "0.0");
        InvocationResult warm = node.invoke(name, "{\"mb\":8}");
        assertThat(warm.startKind()).as("the same instance, still running").isEqualTo(StartKind.WARM);
        assertThat(json(warm)).isEqualTo(json(booted));
        node.client.delete(name);
        assertThat(awaitMetrics(m -> !m.contains(held))).as("gone with its instance").doesNotContain(held);
    }

    /** @return the node's metrics once {@code until} holds for them, or after 30 s */
    private String awaitMetrics(java.util.function.Predicate<String> until) throws InterruptedException {
        return Eventually.poll(node.client::metrics, until, java.time.Duration.ofSeconds(30), java.time.Duration.ofMillis(100));
    }

    @Test
    void severalLazyClonesAtOnceServedFromTheStore() throws Exception {
        String name = "touch-many";
        node.deploy(name, TOUCHER, "lazy", 256);
        InvocationResult booted = node.primeSnapshot(name, "{\"mb\":4}");
        node.awaitStored(name);
        node.client.evictSnapshot(name, Set.of("working"));
        java.util.concurrent.ExecutorService callers = java.util.concurrent.Executors.newFixedThreadPool(4);
        List<CompletableFuture<InvocationResult>> calls = IntStream.range(0, 4)
                .mapToObj(i -> CompletableFuture.supplyAsync(() -> node.invoke(name, "{\"mb\":4}"), callers)).toList();
        callers.shutdown();
        int restores = 0;
        for (CompletableFuture<InvocationResult> call : calls) {
            InvocationResult r = call.join();
            assertThat(json(r)).isEqualTo(json(booted));
            if (r.startKind() == StartKind.RESTORE) { // a clone that answered first may take a later call warm
                restores++;
                assertThat(r.thawHeader("Restore-Source")).contains("store");
            }
        }
        assertThat(restores).as("the first answer is a clone's").isPositive();
        // four waiting calls start two restores at once (the node's bound on concurrent starts); a clone
        // up first may answer all four warm, so the clones are counted where they run, not by answers
        var counts = Eventually.poll(() -> node.client.describe(name).instances(), c -> c.starting() == 0 && c.idle() >= 2,
                java.time.Duration.ofSeconds(30), java.time.Duration.ofMillis(100));
        assertThat(counts.idle()).as("clones restored at once; log: %s", node.client.logs(name, 40)).isGreaterThanOrEqualTo(2);
        assertThat(node.client.logs(name, 40)).doesNotContain("RESTORE_FAILED");
        node.client.delete(name);
    }

    @Test
    void aPageSourceThatFailsMidRestoreEndsInABootAndAnAnswerNotAHang() throws Exception {
        String name = "touch-fails";
        node.deploy(name, TOUCHER, "lazy", 256);
        InvocationResult booted = node.primeSnapshot(name, "{\"mb\":8}");
        node.awaitDurable(name);
        node.client.evictSnapshot(name, Set.of("working"));
        assertThat(node.invoke(name, "{\"mb\":8}").thawHeader("Restore-Source")).contains("store");
        node.client.evict(name);
        // Every chunk gone from the disk tier and from S3, and the memory tier emptied: the image
        // without its lazy pages is still on tmpfs, so CRIU starts, and the first fault fails.
        node.client.evictSnapshot(name, Set.of("memory"));
        deleteFilesUnder(node.dataDir.resolve("store/disk/objects/c"));
        deleteFilesUnder(node.dataDir.resolve("store/s3"), p -> p.getParent().getFileName().toString().equals("c")
                || p.toString().contains("/c/"));

        InvocationResult answered = node.invoke(name, "{\"mb\":8}");

        assertThat(json(answered)).isEqualTo(json(booted));
        assertThat(answered.startKind()).isEqualTo(StartKind.BOOT);
        assertThat(node.client.logs(name, 50)).contains("RESTORE_FAILED the page source failed")
                .contains("missing from every tier");
        // marked at once: the boot that answered took a fresh snapshot, and the next cold start restores it
        var snapshot = node.client.describe(name).snapshot();
        assertThat(snapshot.state()).isEqualTo("ready");
        assertThat(snapshot.restoreFailures()).isEqualTo(1);
        node.client.evict(name);
        InvocationResult again = node.invoke(name, "{\"mb\":8}");
        assertThat(again.startKind()).isEqualTo(StartKind.RESTORE);
        assertThat(json(again)).isEqualTo(json(booted));
        assertThat(node.client.logs(name, 200).split("RESTORE_FAILED", -1)).as("one failure, not repeated").hasSize(2);
        node.client.delete(name);
    }

    private static void deleteFilesUnder(Path dir) throws Exception {
        deleteFilesUnder(dir, p -> true);
    }

    private static void deleteFilesUnder(Path dir, java.util.function.Predicate<Path> which) throws Exception {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.filter(Files::isRegularFile).filter(which).toList()) {
                Files.delete(p);
            }
        }
    }


    private static long count(InvocationResult r, String header) {
        return Long.parseLong(r.thawHeader(header).orElseThrow(() -> new AssertionError("no X-Thaw-" + header)));
    }

    private static JsonNode json(InvocationResult r) throws Exception {
        return Json.mapper().readTree(r.body());
    }
}
