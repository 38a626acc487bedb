package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.client.InvocationResult;
import dev.thaw.core.StartKind;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.Json;
import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Priming ({@code FunctionManifest.Priming}): the handler runs on its priming event before the
 * snapshot, in every restore mode; an event the handler rejects, or a round that hangs, leaves the
 * function without a snapshot and its invocation answered by a boot.
 */
class PrimingIT extends WithSnapshotNode {

    @ParameterizedTest
    @ValueSource(strings = {"eager", "lazy", "reap"})
    void theHandlerRunsOnItsPrimingEventBeforeTheSnapshot(String mode) throws Exception {
        String name = "primed-" + mode;
        deploy(name, "Counter::handle", mode, 30_000, "{\"prime\":true}", 3);
        assertThat(node.client.describe(name).primeRounds()).isEqualTo(3);
        assertThat(node.client.describe(name).restoreMode()).isEqualTo(mode);

        InvocationResult booted = node.primeSnapshot(name, "{}");
        InvocationResult restored = node.invoke(name, "{}");
        InvocationResult warm = node.invoke(name, "{}");

        assertThat(restored.startKind()).isEqualTo(StartKind.RESTORE);
        assertThat(invocations(booted)).as("the original's first answer comes after its 3 priming calls").isEqualTo(4);
        assertThat(invocations(restored)).as("so does every clone's: they were in the snapshot").isEqualTo(4);
        assertThat(invocations(warm)).isEqualTo(5);
        assertThat(node.client.logs(name, 50)).contains("after 3 priming invocations")
                .contains("thaw: primed the handler with 3 of 3 invocations");
    }

    @Test
    void anUnprimedFunctionsHandlerNeverRunsBeforeItsSnapshot() throws Exception {
        deploy("unprimed", "Counter::handle", "eager", 30_000, null, null);
        assertThat(node.client.describe("unprimed").primeRounds()).isNull();
        assertThat(invocations(node.primeSnapshot("unprimed", "{}"))).isEqualTo(1);
        assertThat(node.client.logs("unprimed", 50)).doesNotContain("priming");
    }

    @Test
    void aPrimingEventTheHandlerRejectsLeavesTheFunctionWithoutASnapshot() throws Exception {
        deploy("prime-rejected", "Sleeper::handle", "eager", 30_000, "{\"no\":\"ms\"}", 5);

        answeredByABootWithoutSnapshot("prime-rejected", "priming invocation 1 of 5 failed: "
                + "java.lang.IllegalArgumentException: expected {\"ms\": <number>}, got {no=ms}");
        assertThat(node.client.logs("prime-rejected", 50)).contains("SNAPSHOT_FAILED priming invocation 1 of 5 failed");

        node.client.evict("prime-rejected");
        InvocationResult again = node.invoke("prime-rejected", "{\"ms\":2}");
        assertThat(again.startKind()).as("cold starts boot without a snapshot").isEqualTo(StartKind.BOOT);
        assertThat(again.bodyAsString()).isEqualTo("{\"slept\":2}");
    }

    @Test
    void aPrimingInvocationThatHangsIsStoppedAndTheInvocationBoots() throws Exception {
        deploy("prime-hangs", "Sleeper::handle", "eager", 1_000, "{\"ms\":600000}", 2);

        answeredByABootWithoutSnapshot("prime-hangs",
                "priming invocation 1 of 2 did not finish within the function's timeout of 1000 ms");
        assertThat(node.client.describe("prime-hangs").instances().idle()).as("the hanging instance is gone, the boot that answered stays").isEqualTo(1);
    }

    /** The first invocation is answered by a boot, and the function's snapshot failed for {@code reason}. */
    private static void answeredByABootWithoutSnapshot(String name, String reason) {
        InvocationResult first = node.invoke(name, "{\"ms\":1}");
        assertThat(first.startKind()).isEqualTo(StartKind.BOOT);
        assertThat(first.bodyAsString()).isEqualTo("{\"slept\":1}");
        FunctionInfo.SnapshotInfo snapshot = node.client.describe(name).snapshot();
        assertThat(snapshot.state()).isEqualTo("failed");
        assertThat(snapshot.reason()).isEqualTo(reason);
    }

    private static void deploy(String name, String handler, String mode, int timeoutMs, String event, Integer rounds)
            throws IOException {
        FunctionManifest manifest = new FunctionManifest(name, TestNode.TF + handler, null, 256, timeoutMs, Map.of(), 8,
                true, mode);
        if (event != null) {
            manifest = manifest.withPriming(new FunctionManifest.Priming(Json.mapper().readTree(event), rounds));
        }
        node.client.deploy(manifest, TestNode.TEST_FUNCTIONS);
    }

    private static int invocations(InvocationResult r) throws IOException {
        JsonNode body = Json.mapper().readTree(r.body());
        return body.get("invocations").asInt();
    }
}
