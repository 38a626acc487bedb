package dev.thaw.store;

/**
 * A failure of the snapshot store. Its message names the snapshot, file and chunk concerned where
 * there is one, and never contains key material. Subclasses tell the cases a caller may want to
 * handle apart: {@link Unavailable}, {@link Corrupted}, {@link NotFound}, {@link Full} and
 * {@link InvalidArgument}; the base class is an internal failure. What a failure means to a user of
 * the node (its HTTP status, its error type) is the node's business, decided once at its edge.
 */
public class StoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what was wrong
     * @param cause the underlying failure, or {@code null}
     */
    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }

    /** An internal failure (I/O error, bug) with a message saying what the store was doing. */
    public static StoreException internal(String message, Throwable cause) {
        return new StoreException(message, cause);
    }

    /** The caller asked for something the store cannot do with these arguments (a bad id, range or tier). */
    public static final class InvalidArgument extends StoreException {
        private static final long serialVersionUID = 1L;

        /** @param message what was asked and why it cannot be done */
        public InvalidArgument(String message) {
            super(message, null);
        }
    }

    /** A tier, or the data a request needs, cannot be reached now: the request may succeed later. */
    public static final class Unavailable extends StoreException {
        private static final long serialVersionUID = 1L;

        /** @param message what cannot be reached and what was asked for */
        public Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Stored data failed verification (authentication tag, plaintext hash, length) or is missing
     * from every tier that should hold it. Such data is never returned.
     */
    public static final class Corrupted extends StoreException {
        private static final long serialVersionUID = 1L;

        /** @param message which snapshot, file and chunk, in which tier, and why */
        public Corrupted(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** No snapshot, or no file in a snapshot, of the given name. */
    public static final class NotFound extends StoreException {
        private static final long serialVersionUID = 1L;

        /** @param message what was not found */
        public NotFound(String message) {
            super(message, null);
        }
    }

    /** A bounded tier cannot take more data; nothing half-written was left behind. */
    public static final class Full extends StoreException {
        private static final long serialVersionUID = 1L;

        /** @param message which tier, how much was needed and why it could not be freed */
        public Full(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
