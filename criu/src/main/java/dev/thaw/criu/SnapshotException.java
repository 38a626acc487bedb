package dev.thaw.criu;

import dev.thaw.core.ErrorType;
import dev.thaw.core.ThawException;

/**
 * A checkpoint or restore failed. Never reaches a caller as such: the node records the reason and
 * boots the function instead, so its user-visible type is an internal error.
 */
public final class SnapshotException extends ThawException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what failed, with the relevant lines of CRIU's log
     * @param cause the underlying failure, or {@code null}
     */
    public SnapshotException(String message, Throwable cause) {
        super(ErrorType.InternalError, message, cause);
    }
}
