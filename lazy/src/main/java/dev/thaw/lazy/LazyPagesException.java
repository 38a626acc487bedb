package dev.thaw.lazy;

/**
 * The lazy-pages daemon could not be set up or an image could not be read: a socket path too long
 * for AF_UNIX, an unreadable or unsupported image, a working set that does not belong to its image.
 * Like every snapshot failure it never reaches a function's caller as such: the node restores
 * eagerly or boots instead.
 */
public final class LazyPagesException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** @param message what went wrong, naming the file, pid or address concerned */
    public LazyPagesException(String message) {
        super(message);
    }

    /**
     * @param message what went wrong, naming the file, pid or address concerned
     * @param cause the underlying failure
     */
    public LazyPagesException(String message, Throwable cause) {
        super(message, cause);
    }
}
