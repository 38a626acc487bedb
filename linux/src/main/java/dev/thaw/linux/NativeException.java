package dev.thaw.linux;

/**
 * A system call failed. The message names the call, what it was applied to and the system's
 * reason, e.g. {@code setns(/proc/12/ns/net, CLONE_NEWNET): Operation not permitted (errno 1)}.
 */
public final class NativeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;

    /**
     * @param call the call and what it was applied to, e.g. {@code mount(tmpfs on /x)}
     * @param errno the {@code errno} it left
     */
    public NativeException(String call, int errno) {
        super(call + ": " + Libc.strerror(errno) + " (errno " + errno + ")");
        this.call = call;
        this.errno = errno;
    }

    /** @return the call and what it was applied to */
    public String call() {
        return call;
    }

    /** @return the {@code errno} the call left */
    public int errno() {
        return errno;
    }
}
