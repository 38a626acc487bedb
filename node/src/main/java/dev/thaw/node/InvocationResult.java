package dev.thaw.node;

import java.util.OptionalDouble;

/**
 * What an invocation produced and how it started.
 *
 * @param requestId the request id
 * @param body the function's result (JSON)
 * @param start {@code warm}, {@code restore} or {@code boot}
 * @param coldStartMs init time (boot) or restore time (restore); empty when warm
 * @param checkpointMs for the boot that took the snapshot: how long the dump took
 * @param durationMs the handler's run time as the node saw it
 * @param version the function version that served it
 * @param restore for the first invocation of a restored instance, the restore's figures; else null
 */
record InvocationResult(String requestId, byte[] body, String start, OptionalDouble coldStartMs,
                        OptionalDouble checkpointMs, double durationMs, long version, RestoreReport restore) {
}
