package dev.thaw.criu;

/**
 * A checkpoint or restore failed. Never reaches a function's caller as such: the node records the
 * reason and boots the function instead.
 */
public final class SnapshotException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what failed, with the relevant lines of CRIU's log
     * @param cause the underlying failure, or {@code null}
     */
    public SnapshotException(String message, Throwable cause) {
        super(message, cause);
    }
}
