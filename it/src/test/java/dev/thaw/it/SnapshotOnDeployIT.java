package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.thaw.client.InvocationResult;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.StartKind;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A deploy takes the version's snapshot at once, on a boot no invocation waits for: its runtime
 * warms the invocation path up for long (the node never tells it "enough" while no one waits), the
 * boot stops once the snapshot is taken, and the first invocation restores a clone. An invocation
 * that arrives while that boot is still under way ends its warm-up at the baseline, so it waits no
 * longer than a boot of its own, and is served by it.
 */
class SnapshotOnDeployIT {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Duration POLL = Duration.ofMillis(100);
    private static final Pattern TAKEN = Pattern.compile("SNAPSHOT taken in \\d+ ms: [0-9.]+ MB, after (\\d+) warm-up exchanges");

    @Test
    void aDeployTakesTheSnapshotAheadAfterALongWarmUpAndLeavesNothingRunning() throws Exception {
        assumeTrue(TestNode.criuAvailable(), "CRIU is not available");
        try (TestNode node = new TestNode()) {
            FunctionInfo deployed = node.deploy("ahead", TestNode.TF + "EchoRequestHandler::handleRequest");
            assertThat(deployed.snapshot().state()).isEqualTo("pending");
            assertThat(node.client.logs("ahead", 50)).contains("SNAPSHOT ahead of the first invocation");

            FunctionInfo ready = Eventually.poll(() -> node.client.describe("ahead"),
                    d -> !d.snapshot().state().equals("pending"), WAIT, POLL);
            assertThat(ready.snapshot().state()).isEqualTo("ready");
            assertThat(exchanges(node.client.logs("ahead", 50)))
                    .as("the warm-up of a boot no one waits for runs past the baseline of 300").isGreaterThan(1_000);

            // the boot that took it stops, as no invocation waited for it: the first one restores a clone
            Eventually.poll(() -> node.client.describe("ahead").instances(),
                    i -> i.starting() + i.idle() + i.busy() == 0, WAIT, POLL);
            InvocationResult first = node.invoke("ahead", "{\"n\":1}");
            assertThat(first.status()).isEqualTo(200);
            assertThat(first.startKind()).isEqualTo(StartKind.RESTORE);
            assertThat(first.bodyAsString()).contains("\"n\":1");
        }
    }

    @Test
    void anInvocationThatComesDuringTheDeploysBootEndsItsWarmUpAtTheBaseline() throws Exception {
        assumeTrue(TestNode.criuAvailable(), "CRIU is not available");
        try (TestNode node = new TestNode()) {
            node.deploy("waited", TestNode.TF + "EchoRequestHandler::handleRequest");
            InvocationResult first = node.invoke("waited", "{\"n\":1}");
            assertThat(first.status()).isEqualTo(200);
            assertThat(first.startKind()).isEqualTo(StartKind.BOOT);
            String logs = node.client.logs("waited", 50);
            assertThat(exchanges(logs)).as("told 'enough' once its baseline was done").isLessThanOrEqualTo(300);
            assertThat(node.client.describe("waited").snapshot().state()).isEqualTo("ready");
        }
    }

    @Test
    void aDeploysWarmUpYieldsToInvocationsTheNodeServes() throws Exception {
        assumeTrue(TestNode.criuAvailable(), "CRIU is not available");
        try (TestNode node = new TestNode()) {
            // snapshots off: its own boot takes none, and its invocation keeps the node busy meanwhile
            node.deploy("busy", TestNode.TF + "Sleeper::handle", TestNode.TEST_FUNCTIONS, java.util.Map.of(), false, 60_000);
            var busy = java.util.concurrent.CompletableFuture.supplyAsync(() -> node.invoke("busy", "{\"ms\":12000}"));
            Eventually.poll(() -> node.client.describe("busy").instances().busy(), b -> b == 1, WAIT, POLL);

            node.deploy("polite", TestNode.TF + "EchoRequestHandler::handleRequest");
            Eventually.poll(() -> node.client.describe("polite").snapshot().state(), st -> !st.equals("pending"), WAIT, POLL);
            assertThat(busy).as("the busy invocation outlasted the deploy's boot").isNotDone();
            assertThat(exchanges(node.client.logs("polite", 50))).as("the warm-up kept to its baseline")
                    .isLessThanOrEqualTo(300);
            assertThat(busy.get().status()).isEqualTo(200);
        }
    }

    private static int exchanges(String logs) {
        Matcher m = TAKEN.matcher(logs);
        assertThat(m.find()).as("a SNAPSHOT taken line in:\n" + logs).isTrue();
        return Integer.parseInt(m.group(1));
    }
}
