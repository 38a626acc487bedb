package dev.thaw.sandbox;

/**
 * The sandbox could not do what was asked: open on a data directory another node holds, make an
 * instance's cgroup, namespace or scratch, copy a scratch. The message says what and why.
 */
public final class SandboxException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what failed and why
     * @param cause the underlying failure, or {@code null}
     */
    public SandboxException(String message, Throwable cause) {
        super(message, cause);
    }

    /** @param message what failed and why */
    public SandboxException(String message) {
        super(message);
    }
}
