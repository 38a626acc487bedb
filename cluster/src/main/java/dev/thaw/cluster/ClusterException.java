package dev.thaw.cluster;

/**
 * A failure of cluster coordination. Its message says what was being done, which etcd endpoints were
 * concerned and why it failed. It has no HTTP meaning of its own: the node maps it at its edge.
 * Subclasses tell apart the cases a caller handles differently: {@link Unavailable} (etcd cannot be
 * reached now: retry later, or fall back), {@link Conflict} (others kept winning a
 * compare-and-swap) and {@link NotFound} (what the operation names does not exist).
 */
public class ClusterException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what was being done and what went wrong
     * @param cause the underlying failure, or {@code null}
     */
    public ClusterException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * etcd cannot be reached now, or did not answer in time. Thrown at once, without a network
     * round trip, while the handle knows it is disconnected; the handle reconnects by itself. A
     * write that fails this way may or may not have been applied (etcd may have committed it
     * before the answer was lost): read back before retrying when that matters.
     */
    public static final class Unavailable extends ClusterException {
        private static final long serialVersionUID = 1L;

        /**
         * @param message what was being done, the endpoints, since when and why they are unreachable
         * @param cause the underlying failure, or {@code null}
         */
        public Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * A compare-and-swap transaction lost to concurrent writers more times than the bound allows
     * (for example a deploy of a function that other nodes keep deploying).
     */
    public static final class Conflict extends ClusterException {
        private static final long serialVersionUID = 1L;

        /** @param message what was being done and how many attempts were made */
        public Conflict(String message) {
            super(message, null);
        }
    }

    /** What an operation names (a function, one of its versions) does not exist, or no longer does. */
    public static final class NotFound extends ClusterException {
        private static final long serialVersionUID = 1L;

        /** @param message what was looked for */
        public NotFound(String message) {
            super(message, null);
        }
    }
}
