package dev.thaw.core;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * What the node says about a deployed function ({@code GET /functions/{name}}, {@code thaw describe}).
 * Environment variables appear by name only.
 *
 * @param name function name
 * @param version deployed version, growing with every deploy
 * @param handler handler name
 * @param runtime {@code java} or {@code provided}
 * @param memoryMb memory limit
 * @param timeoutMs invocation timeout
 * @param environmentKeys names of the environment variables (values are never shown)
 * @param maxInstances instance limit
 * @param snapshotsEnabled whether the manifest asks for snapshots
 * @param codeSha256 hex SHA-256 of the deployed archive
 * @param codeSizeBytes size of the deployed archive
 * @param deployedAt ISO-8601 time of the deploy
 * @param snapshot the state of the function's snapshot
 * @param instances instance counts by state
 * @param restoreMode how its snapshot is restored ({@code eager}, {@code lazy} or {@code reap}:
 *     the manifest's, else the node's default)
 * @param primeRounds how many priming invocations run before its snapshot, or {@code null} when it
 *     is not primed (the event itself is never shown)
 * @param nodes in a cluster, the instance counts on each node by node id ({@code instances} is their
 *     sum); {@code null} on a node on its own
 * @param scaling how the function is scaled ahead of demand: its settings, the autoscaler's last
 *     decision, its pre-restored clones, the predictions that named it (used, wasted) and its freshen
 *     calls; {@code null} when the node does not say
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record FunctionInfo(
        String name,
        long version,
        String handler,
        String runtime,
        int memoryMb,
        int timeoutMs,
        List<String> environmentKeys,
        int maxInstances,
        boolean snapshotsEnabled,
        String codeSha256,
        long codeSizeBytes,
        String deployedAt,
        SnapshotInfo snapshot,
        InstanceCounts instances,
        String restoreMode,
        Integer primeRounds,
        java.util.Map<String, InstanceCounts> nodes,
        java.util.Map<String, Object> scaling) {

    /** A function's information on a node on its own (no per-node counts). */
    public FunctionInfo(String name, long version, String handler, String runtime, int memoryMb, int timeoutMs,
                        List<String> environmentKeys, int maxInstances, boolean snapshotsEnabled, String codeSha256,
                        long codeSizeBytes, String deployedAt, SnapshotInfo snapshot, InstanceCounts instances,
                        String restoreMode, Integer primeRounds) {
        this(name, version, handler, runtime, memoryMb, timeoutMs, environmentKeys, maxInstances, snapshotsEnabled,
                codeSha256, codeSizeBytes, deployedAt, snapshot, instances, restoreMode, primeRounds, null, null);
    }

    /** @return this information with what the node says of the function's scaling */
    public FunctionInfo withScaling(java.util.Map<String, Object> value) {
        return new FunctionInfo(name, version, handler, runtime, memoryMb, timeoutMs, environmentKeys, maxInstances,
                snapshotsEnabled, codeSha256, codeSizeBytes, deployedAt, snapshot, instances, restoreMode, primeRounds, nodes,
                value);
    }

    /** @return this information with the instance counts of every node of the cluster, and their sum */
    public FunctionInfo withNodes(java.util.Map<String, InstanceCounts> perNode) {
        int starting = 0;
        int idle = 0;
        int busy = 0;
        int queued = 0;
        for (InstanceCounts c : perNode.values()) {
            starting += c.starting();
            idle += c.idle();
            busy += c.busy();
            queued += c.queued();
        }
        return new FunctionInfo(name, version, handler, runtime, memoryMb, timeoutMs, environmentKeys, maxInstances,
                snapshotsEnabled, codeSha256, codeSizeBytes, deployedAt, snapshot, new InstanceCounts(starting, idle, busy,
                queued), restoreMode, primeRounds, new java.util.TreeMap<>(perNode), scaling);
    }

    /**
     * @param state {@code none} (no cold start yet), {@code ready}, {@code failed} (boots instead),
     *     {@code disabled} (manifest or node: see reason)
     * @param reason why the snapshot is failed or disabled, or {@code null}
     * @param sizeBytes size of the image files
     * @param checkpointMs how long the dump took
     * @param createdAt ISO-8601 time the snapshot was taken
     * @param restores how many clones were restored from it
     * @param restoreFailures how many restores failed and fell back to booting
     * @param warmedAfterInvocations for a snapshot taken of an instance that had served invocations (it
     *     replaced the one taken after init, so clones start with the invocation path compiled), how
     *     many that instance had served; {@code null} for a snapshot taken after init
     * @param warming while the snapshot taken after init serves, when a warmed one is to replace it
     *     ({@code once an instance has served N invocations}) or why none will ({@code never: ...});
     *     {@code null} once warmed, and when the node does not say
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record SnapshotInfo(String state, String reason, Long sizeBytes, Long checkpointMs, String createdAt,
                               long restores, long restoreFailures, Long warmedAfterInvocations, String warming) {
        /** A snapshot taken after init. */
        public SnapshotInfo(String state, String reason, Long sizeBytes, Long checkpointMs, String createdAt,
                            long restores, long restoreFailures) {
            this(state, reason, sizeBytes, checkpointMs, createdAt, restores, restoreFailures, null, null);
        }

        /** A snapshot, warmed ({@code warmedAfterInvocations} not null) or not, with nothing said of warming. */
        public SnapshotInfo(String state, String reason, Long sizeBytes, Long checkpointMs, String createdAt,
                            long restores, long restoreFailures, Long warmedAfterInvocations) {
            this(state, reason, sizeBytes, checkpointMs, createdAt, restores, restoreFailures, warmedAfterInvocations, null);
        }

        /** @return this information saying when the snapshot is to be warmed, or why never */
        public SnapshotInfo withWarming(String value) {
            return new SnapshotInfo(state, reason, sizeBytes, checkpointMs, createdAt, restores, restoreFailures,
                    warmedAfterInvocations, value);
        }
    }

    /**
     * @param starting instances booting or restoring
     * @param idle instances waiting for work
     * @param busy instances serving an invocation
     * @param queued invocations waiting for an instance
     */
    public record InstanceCounts(int starting, int idle, int busy, int queued) {
    }
}
