package dev.thaw.store;

import dev.thaw.core.ErrorType;
import dev.thaw.core.ThawException;

/**
 * A failure of the snapshot store. Its message names the snapshot, file and chunk concerned where
 * there is one, and never contains key material. Subclasses tell the cases a caller may want to
 * handle apart: {@link Unavailable}, {@link Corrupted}, {@link NotFound} and {@link Full}.
 */
public class StoreException extends ThawException {
    private static final long serialVersionUID = 1L;

    /**
     * @param type the user-visible error type
     * @param message what was wrong
     * @param cause the underlying failure, or {@code null}
     */
    public StoreException(ErrorType type, String message, Throwable cause) {
        super(type, message, cause);
    }

    /** An internal failure (I/O error, bug) with a message saying what the store was doing. */
    public static StoreException internal(String message, Throwable cause) {
        return new StoreException(ErrorType.InternalError, message, cause);
    }

    /** A tier, or the data a request needs, cannot be reached now: the request may succeed later. */
    public static final class Unavailable extends StoreException {
        private static final long serialVersionUID = 1L;

        /** @param message what cannot be reached and what was asked for */
        public Unavailable(String message, Throwable cause) {
            super(ErrorType.ServiceUnavailable, message, cause);
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
            super(ErrorType.InternalError, message, cause);
        }
    }

    /** No snapshot, or no file in a snapshot, of the given name. */
    public static final class NotFound extends StoreException {
        private static final long serialVersionUID = 1L;

        /** @param message what was not found */
        public NotFound(String message) {
            super(ErrorType.InvalidRequest, message, null);
        }
    }

    /** A bounded tier cannot take more data; nothing half-written was left behind. */
    public static final class Full extends StoreException {
        private static final long serialVersionUID = 1L;

        /** @param message which tier, how much was needed and why it could not be freed */
        public Full(String message, Throwable cause) {
            super(ErrorType.ServiceUnavailable, message, cause);
        }
    }
}
