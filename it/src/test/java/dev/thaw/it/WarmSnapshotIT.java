package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.client.InvocationResult;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.StartKind;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Once an instance has served {@code --warm-snapshot-after} invocations, the function's snapshot is
 * replaced by one of that instance, and later clones start from it: a counter of invocations kept
 * in the handler's memory shows which snapshot a clone came from (the deploy's snapshot holds 0,
 * the warmed one what the instance had counted). An instance that holds a connection of its own is
 * not snapshotted: its clones would find it closed.
 */
class WarmSnapshotIT {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Duration POLL = Duration.ofMillis(100);
    private static final int AFTER = 30;

    @Test
    void anInstanceThatServedInvocationsReplacesTheSnapshotAndLaterClonesStartFromIt() throws Exception {
        assumeTrue(TestNode.criuAvailable(), "CRIU is not available");
        try (TestNode node = new TestNode(b -> b.warmSnapshotAfter(AFTER))) {
            deployAndServe(node, "counter", "Counter::handle");
            node.awaitLog("counter", "SNAPSHOT warmed");
            FunctionInfo.SnapshotInfo warmed = node.client.describe("counter").snapshot();
            assertThat(warmed.state()).isEqualTo("ready");
            assertThat(warmed.warmedAfterInvocations()).isEqualTo((long) AFTER);
            assertThat(node.client.logs("counter", 200)).contains("of instance")
                    .contains("after " + AFTER + " invocations; it replaces the snapshot taken after init");

            // the instance it was taken of serves on, warm
            InvocationResult after = Eventually.poll(() -> node.invoke("counter", "{}"), r -> r.status() == 200, WAIT, POLL);
            assertThat(after.bodyAsString()).isEqualTo("{\"invocations\":" + (AFTER + 1) + "}");
            assertThat(after.startKind()).isEqualTo(StartKind.WARM);

            // a clone of the warmed snapshot counts on from where that instance was at the dump
            node.client.evict("counter");
            InvocationResult clone = node.invoke("counter", "{}");
            assertThat(clone.startKind()).isEqualTo(StartKind.RESTORE);
            assertThat(clone.bodyAsString()).isEqualTo("{\"invocations\":" + (AFTER + 1) + "}");
            assertThat(node.invoke("counter", "{}").bodyAsString()).isEqualTo("{\"invocations\":" + (AFTER + 2) + "}");

            // once per version: the clone serving on is not snapshotted again
            for (int n = 0; n < AFTER; n++) {
                node.invoke("counter", "{}");
            }
            Thread.sleep(4_500); // two of the node's ticks
            assertThat(node.client.describe("counter").snapshot().warmedAfterInvocations()).isEqualTo((long) AFTER);
            String logs = node.client.logs("counter", 500);
            assertThat(logs.split("SNAPSHOT warmed", -1)).as("one warmed snapshot:\n" + logs).hasSize(2);

            // stored under an id of its own once the node is quiet: without the working copy, a clone restores it from the store
            Eventually.poll(() -> node.client.logs("counter", 500), l -> l.split("SNAPSHOT stored", -1).length == 3, WAIT, POLL);
            node.client.evict("counter");
            node.client.evictSnapshot("counter", java.util.Set.of("working"));
            InvocationResult fromStore = node.invoke("counter", "{}");
            assertThat(fromStore.startKind()).isEqualTo(StartKind.RESTORE);
            assertThat(fromStore.bodyAsString()).isEqualTo("{\"invocations\":" + (AFTER + 1) + "}");
        }
    }

    /**
     * With REAP restores, the warmed snapshot starts without a working set (the one recorded on the
     * first snapshot belongs to it), its first restore records its own, and the next restore
     * installs that one up front.
     */
    @Test
    void aReapFunctionsWarmedSnapshotRecordsAWorkingSetOfItsOwn() throws Exception {
        assumeTrue(TestNode.criuAvailable(), "CRIU is not available");
        try (TestNode node = new TestNode(b -> b.warmSnapshotAfter(AFTER))) {
            deployAndServe(node, new FunctionManifest("reaped", TestNode.TF + "Counter::handle", null, 256, 30_000, Map.of(),
                    8, true, "reap").withWarmSnapshotAfter(5), 6);
            assertThat(Eventually.poll(() -> recordedSets(node), n -> n == 1, WAIT, POLL)).as("on the first snapshot")
                    .isEqualTo(1);
            node.awaitLog("reaped", "SNAPSHOT warmed");
            long warmedAfter = node.client.describe("reaped").snapshot().warmedAfterInvocations();

            node.client.evict("reaped");
            InvocationResult first = node.invoke("reaped", "{}");
            assertThat(first.thawHeader("Restore-Mode")).contains("reap");
            assertThat(first.bodyAsString()).isEqualTo("{\"invocations\":" + (warmedAfter + 1) + "}");
            assertThat(Eventually.poll(() -> recordedSets(node), n -> n == 2, WAIT, POLL)).as("one of its own").isEqualTo(2);

            node.client.evict("reaped");
            InvocationResult second = node.invoke("reaped", "{}");
            assertThat(second.bodyAsString()).isEqualTo("{\"invocations\":" + (warmedAfter + 1) + "}");
            assertThat(Long.parseLong(second.thawHeader("Pages-Up-Front").orElse("0")))
                    .as("the warmed snapshot's working set installed up front").isPositive();
        }
    }

    private static int recordedSets(TestNode node) {
        return node.client.logs("reaped", 500).split("WORKING_SET recorded", -1).length - 1;
    }

    /**
     * A node killed after it swapped a warmed snapshot in but while it held its publish (another
     * function's invocation in flight) leaves the warmed images in its working copy and the first
     * snapshot in the store: its next start stores the warmed one under its own id, and a clone
     * restored from the store is a clone of the warmed instance, not of the first snapshot.
     */
    @Test
    void aWarmedSnapshotAKilledNodeHadNotStoredYetIsStoredByItsNextStart() throws Exception {
        assumeTrue(TestNode.criuAvailable(), "CRIU is not available");
        Path data = Files.createTempDirectory("thaw-it-warm-held-");
        Path log = data.resolveSibling(data.getFileName() + ".log");
        Path nodeDir = data.resolve("node");
        Process up = UpProcess.start(nodeDir, log);
        long warmedAfter;
        try {
            try (var client = UpProcess.clientOf(up, nodeDir, log)) {
                client.deploy(new FunctionManifest("counted", TestNode.TF + "Counter::handle", null, 256, 30_000, Map.of(),
                        4, true).withWarmSnapshotAfter(3), TestNode.TEST_FUNCTIONS);
                client.deploy(new FunctionManifest("busy", TestNode.TF + "Sleeper::handle", null, 256, 60_000, Map.of(),
                        4, true), TestNode.TEST_FUNCTIONS);
                Eventually.poll(() -> client.snapshot("counted").path("store").path("chunks").asInt(0), n -> n > 0, WAIT, POLL);
                for (int i = 0; i < 4; i++) {
                    client.invoke("counted", "{}".getBytes(StandardCharsets.UTF_8));
                }
                Thread.ofVirtual().start(() -> { // the node is busy from now on: a publish is held
                    try {
                        client.invoke("busy", "{\"ms\":50000}".getBytes(StandardCharsets.UTF_8));
                    } catch (RuntimeException e) {
                        // the node is killed under it
                    }
                });
                Eventually.poll(() -> client.logs("counted", 200), l -> l.contains("SNAPSHOT warmed"), WAIT, POLL);
                JsonNode report = Eventually.poll(() -> client.snapshot("counted"),
                        r -> r.path("publish").asText().startsWith("held"), WAIT, POLL);
                assertThat(report.path("publish").asText()).as("%s", report).startsWith("held until the node has been quiet");
                warmedAfter = client.describe("counted").snapshot().warmedAfterInvocations();
                UpProcess.kill(up);
            }

            try (TestNode next = new TestNode(nodeDir, true, b -> b)) {
                next.awaitStored("counted");
                assertThat(next.client.logs("counted", 100)).contains("SNAPSHOT found in its working copy only");
                next.client.evictSnapshot("counted", java.util.Set.of("working"));
                InvocationResult r = next.invoke("counted", "{}");
                assertThat(r.startKind()).isEqualTo(StartKind.RESTORE);
                assertThat(r.thawHeader("Restore-Source")).contains("store");
                assertThat(r.bodyAsString()).as("a clone of the warmed instance").isEqualTo("{\"invocations\":"
                        + (warmedAfter + 1) + "}");
            }
        } finally {
            up.destroyForcibly();
            up.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
            Files.deleteIfExists(log);
            dev.thaw.core.FileTrees.deleteQuietly(data);
        }
    }

    @Test
    void anInstanceHoldingAConnectionOfItsOwnIsNotSnapshottedAndServesOn() throws Exception {
        assumeTrue(TestNode.criuAvailable(), "CRIU is not available");
        try (TestNode node = new TestNode(b -> b.warmSnapshotAfter(AFTER))) {
            deployAndServe(node, "holder", "HeldConnection::handle");
            node.awaitLog("holder", "SNAPSHOT_NOT_WARMED not taken: the instance holds 1 connection of its own,"
                    + " which its clones would find closed");
            assertThat(node.client.describe("holder").snapshot().warmedAfterInvocations()).isNull();
            InvocationResult next = Eventually.poll(() -> node.invoke("holder", "{}"), r -> r.status() == 200, WAIT, POLL);
            assertThat(next.bodyAsString()).isEqualTo("{\"invocations\":" + (AFTER + 1) + "}");

            // clones still come from the snapshot taken after init, which never had the connection
            node.client.evict("holder");
            InvocationResult clone = node.invoke("holder", "{}");
            assertThat(clone.startKind()).isEqualTo(StartKind.RESTORE);
            assertThat(clone.bodyAsString()).isEqualTo("{\"invocations\":1}");
        }
    }

    @Test
    void aFunctionsOwnSettingComesBeforeTheNodesAndZeroTurnsItOff() throws Exception {
        assumeTrue(TestNode.criuAvailable(), "CRIU is not available");
        try (TestNode node = new TestNode(b -> b.warmSnapshotAfter(AFTER))) {
            int sooner = 5;
            deployAndServe(node, "sooner", "Counter::handle", sooner, sooner);
            node.awaitLog("sooner", "SNAPSHOT warmed");
            assertThat(node.client.describe("sooner").snapshot().warmedAfterInvocations()).isEqualTo((long) sooner);
            assertThat(node.client.describe("sooner").snapshot().warming()).as("said once warmed").isNull();

            deployAndServe(node, "never", "Counter::handle", 0, AFTER);
            Thread.sleep(4_500); // two of the node's ticks
            assertThat(node.client.describe("never").snapshot().warmedAfterInvocations()).isNull();
            assertThat(node.client.describe("never").snapshot().warming())
                    .isEqualTo("never: off for this function (deployed with --warm-snapshot-after 0)");
            node.client.evict("never");
            InvocationResult clone = node.invoke("never", "{}");
            assertThat(clone.startKind()).isEqualTo(StartKind.RESTORE);
            assertThat(clone.bodyAsString()).as("a clone of the deploy's snapshot").isEqualTo("{\"invocations\":1}");
        }
    }

    private static void deployAndServe(TestNode node, String name, String handler) throws InterruptedException {
        deployAndServe(node, name, handler, null, AFTER);
    }

    /**
     * Deploys a counting test function (with its own {@code warmSnapshotAfter}, or null for the
     * node's), waits for the deploy's snapshot and for the boot that took it to stop, then invokes it
     * {@code times} times: one clone serves them all, counting 1 to times.
     */
    private static void deployAndServe(TestNode node, String name, String handler, Integer warmSnapshotAfter, int times)
            throws InterruptedException {
        deployAndServe(node, new FunctionManifest(name, TestNode.TF + handler, null, 256, 30_000, Map.of(), 8, true)
                .withWarmSnapshotAfter(warmSnapshotAfter), times);
    }

    /** As above, for a function deployed as {@code manifest} says. */
    private static void deployAndServe(TestNode node, FunctionManifest manifest, int times) throws InterruptedException {
        String name = manifest.name();
        node.client.deploy(manifest, TestNode.TEST_FUNCTIONS);
        Eventually.poll(() -> node.client.describe(name).snapshot().state(), s -> !s.equals("pending"), WAIT, POLL);
        assertThat(node.client.describe(name).snapshot().state()).isEqualTo("ready");
        Eventually.poll(() -> node.client.describe(name).instances(), i -> i.starting() + i.idle() + i.busy() == 0, WAIT, POLL);
        for (int n = 1; n <= times; n++) {
            InvocationResult r = node.invoke(name, "{}");
            assertThat(r.bodyAsString()).isEqualTo("{\"invocations\":" + n + "}");
            assertThat(r.startKind()).isEqualTo(n == 1 ? StartKind.RESTORE : StartKind.WARM);
        }
    }
}
