package dev.thaw.node.pool;

import dev.thaw.core.StartKind;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * What an invocation produced and how it started.
 *
 * @param requestId the request id
 * @param body the function's result (JSON)
 * @param start how the instance that served it started
 * @param coldStartMs init time (boot) or restore time (restore); empty when warm
 * @param checkpointMs for the boot that took the snapshot: how long the dump took
 * @param durationMs the handler's run time as the node saw it
 * @param version the function version that served it
 * @param startReport for the first invocation of a restored instance, the restore's figures; else null
 * @param maxMemoryBytes the instance's peak memory during the invocation, when measured
 * @param prewarmedAgeMs for the first invocation of a pre-restored clone, how long it had waited ready
 */
public record InvocationResult(String requestId, byte[] body, StartKind start, OptionalDouble coldStartMs,
                               OptionalDouble checkpointMs, double durationMs, long version, StartReport startReport,
                               OptionalLong maxMemoryBytes, OptionalDouble prewarmedAgeMs) {
}
