package dev.thaw.api;

/**
 * Why a transfer was refused or failed. The message says what happened in words; {@link #reason()}
 * lets a handler decide what to do (for {@link Reason#LOST}: have the producer run again, as a
 * workflow would retry a failed step). A refusal never carries any of the data.
 */
public class XdtException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The kinds of refusal and failure. */
    public enum Reason {
        /** Not an XDT reference at all (truncated, not of the reference format). */
        MALFORMED,
        /** Shaped like a reference but not made by a node of this cluster. */
        FORGED,
        /** Made by a node of this cluster, then changed. */
        ALTERED,
        /** Its time to live has passed. */
        EXPIRED,
        /** Read as many times as it allows already. */
        USED_UP,
        /** The function asking is not one of the readers the reference names. */
        FOREIGN,
        /** The node that held the data is gone or lost it, and the put was not durable. */
        LOST,
        /** The bytes that arrived do not match the reference's SHA-256. */
        CORRUPTED,
        /** The node's transfer buffers (memory and disk) are full. */
        FULL,
        /** The put's options are not allowed on this node (its time-to-live bound, its reads bound). */
        INVALID,
        /** The transfer could not be made now (a node or store unreachable, the input stream failed). */
        UNAVAILABLE
    }

    private final Reason reason;

    /**
     * @param reason the kind of refusal or failure
     * @param message what happened, in words
     */
    public XdtException(Reason reason, String message) {
        super(message);
        this.reason = java.util.Objects.requireNonNull(reason, "reason");
    }

    /**
     * @param reason the kind of refusal or failure
     * @param message what happened, in words
     * @param cause what caused it
     */
    public XdtException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = java.util.Objects.requireNonNull(reason, "reason");
    }

    /** @return the kind of refusal or failure */
    public Reason reason() {
        return reason;
    }
}
