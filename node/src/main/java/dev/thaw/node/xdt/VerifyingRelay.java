package dev.thaw.node.xdt;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Passes data from another node (or from S3) on to a reader as it arrives, hashing it on the way,
 * and says at the end whether it matched: every byte the reference says, no more, and the SHA-256
 * that came signed after the data (hashed on other threads while the next bytes arrive).
 * Cut-through: nothing is held back but one buffer, so a large transfer neither waits for
 * its last byte before its first is delivered nor sits whole in the node. The verdict travels as
 * the trailer of the chunked answer, so the reader's stream fails instead of ending when it is not
 * {@code ok}.
 */
final class VerifyingRelay {
    /** Bytes read from the source and written on per step. */
    static final int BUFFER = 1 << 20;
    /** Buffers in flight: one arriving and going out while the ones before it are hashed. */
    private static final int BUFFERS = 3;

    private VerifyingRelay() {
    }

    /**
     * What came of a relay.
     *
     * @param bytes how many bytes were passed on
     * @param failure why the data cannot be trusted, or null when it matched
     */
    record Outcome(long bytes, Refusal failure) {
        boolean ok() {
            return failure == null;
        }
    }

    /** Where the relay writes; an {@link IOException} from it ends the relay (the reader is gone). */
    interface Sink {
        void write(ByteBuffer data) throws IOException;
    }

    /**
     * The SHA-256 the data must have, as the source vouched for it once the data ended (the signed
     * trailer of another node's answer, the signed end of a durable copy).
     */
    interface Expected {
        /**
         * @return the digest
         * @throws Refusal {@code CORRUPTED} when the source gave none, or one that is not signed by a
         *     node of this cluster
         */
        byte[] sha256();
    }

    /**
     * Relays, hashing on {@code hashers} (in order) while the next buffer arrives and goes out: the
     * relay is not slowed to the hash's pace.
     *
     * @param source the data, read to its end
     * @param ref what it must match: its size
     * @param expected asked for the digest once {@code source} ended
     * @param from names the source in messages ("node 'a'", "S3")
     * @throws IOException when writing to {@code sink} failed
     */
    static Outcome relay(InputStream source, Reference ref, Expected expected, String from, Sink sink, Executor hashers)
            throws IOException {
        MessageDigest sha = XdtService.sha256();
        int size = (int) Math.min(BUFFER, Math.max(1, ref.size() + 1));
        byte[][] buffers = new byte[BUFFERS][size];
        @SuppressWarnings("unchecked")
        CompletableFuture<Void>[] hashed = new CompletableFuture[BUFFERS];
        java.util.Arrays.fill(hashed, CompletableFuture.completedFuture(null));
        CompletableFuture<Void> tail = CompletableFuture.completedFuture(null);
        long total = 0;
        try {
            for (int i = 0; ; i++) {
                int slot = i % BUFFERS;
                hashed[slot].join(); // the buffer is free once its bytes are hashed
                byte[] buf = buffers[slot];
                int n;
                try {
                    n = source.readNBytes(buf, 0, buf.length);
                } catch (IOException e) {
                    return new Outcome(total, new Refusal(Refusal.Reason.UNAVAILABLE, "the transfer from " + from
                            + " broke off after " + total + " of " + ref.size() + " bytes: " + e.getMessage(), e));
                }
                if (n == 0) {
                    break;
                }
                if (total + n > ref.size()) {
                    return new Outcome(total, new Refusal(Refusal.Reason.CORRUPTED, "the data from " + from
                            + " is longer than the " + ref.size() + " bytes its reference says"));
                }
                sink.write(ByteBuffer.wrap(buf, 0, n));
                total += n;
                tail = tail.thenRunAsync(() -> sha.update(buf, 0, n), hashers);
                hashed[slot] = tail;
            }
        } finally {
            try {
                tail.join();
            } catch (RuntimeException e) {
                // a relay that failed does not need its hash
            }
        }
        if (total != ref.size()) {
            return new Outcome(total, new Refusal(Refusal.Reason.CORRUPTED, "the data from " + from + " ended after "
                    + total + " of the " + ref.size() + " bytes its reference says"));
        }
        byte[] vouched;
        try {
            vouched = expected.sha256();
        } catch (Refusal r) {
            return new Outcome(total, r);
        }
        if (!MessageDigest.isEqual(sha.digest(), vouched)) {
            return new Outcome(total, new Refusal(Refusal.Reason.CORRUPTED, "the data from " + from
                    + " does not match the SHA-256 signed with it: it was changed or damaged on the way"));
        }
        return new Outcome(total, null);
    }
}
