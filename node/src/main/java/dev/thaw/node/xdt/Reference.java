package dev.thaw.node.xdt;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What a reference says, once its node's signature has been verified ({@link ReferenceCodec}).
 *
 * @param nodeId the node whose buffers hold the data
 * @param nodeAddress where other nodes reached that node's transfer listener when it signed
 *     ({@code host:port}); a {@link NodeDirectory} may know better
 * @param objectId the data's id on that node, 32 hex digits
 * @param producer the function that put the data
 * @param size the data's length in bytes
 * @param expiresAtMs when it can no longer be read, in ms since the epoch
 * @param reads how many reads it allows
 * @param readers the functions that may read it, sorted; empty when any may
 * @param durable whether the data is also written through to S3
 */
public record Reference(String nodeId, String nodeAddress, String objectId, String producer, long size,
                        long expiresAtMs, int reads, List<String> readers, boolean durable) {

    public Reference {
        Objects.requireNonNull(nodeId, "nodeId");
        Objects.requireNonNull(nodeAddress, "nodeAddress");
        Objects.requireNonNull(objectId, "objectId");
        Objects.requireNonNull(producer, "producer");
        readers = List.copyOf(readers);
    }

    /** @return whether {@code function} may read it */
    public boolean allows(String function) {
        return readers.isEmpty() || readers.contains(function);
    }

    /**
     * Checks what any node can check from the reference alone.
     *
     * @throws Refusal {@code EXPIRED} after its expiry, {@code FOREIGN} for a function it does not name
     */
    public void checkUsableBy(String reader, long nowMs) {
        if (nowMs >= expiresAtMs) {
            throw new Refusal(Refusal.Reason.EXPIRED, "the reference expired at " + Instant.ofEpochMilli(expiresAtMs)
                    + ", " + Math.max(1, (nowMs - expiresAtMs) / 1000) + " s ago (put by function '" + producer + "')");
        }
        if (!allows(reader)) {
            throw new Refusal(Refusal.Reason.FOREIGN, "function '" + reader + "' may not read this reference: function '"
                    + producer + "' put it for " + String.join(", ", readers) + " only");
        }
    }

    @Override
    public String toString() {
        return "Reference[" + nodeId + "/" + objectId + ", " + size + " bytes, by " + producer + ", reads " + reads
                + ", readers " + (readers.isEmpty() ? "any" : readers) + (durable ? ", durable" : "") + "]";
    }
}
