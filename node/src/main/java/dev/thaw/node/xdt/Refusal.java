package dev.thaw.node.xdt;

/**
 * A transfer the node refuses or cannot complete, with the reason a function sees (the names of
 * {@code dev.thaw.api.XdtException.Reason}, which travel in the {@code Thaw-Xdt-Reason} header)
 * and a message that never contains the data, a node's address or key material.
 */
public final class Refusal extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why, as the function's {@code XdtException.Reason} names it, with the HTTP status it travels with. */
    public enum Reason {
        MALFORMED(400), FORGED(403), ALTERED(403), EXPIRED(410), USED_UP(410), FOREIGN(403), LOST(404),
        CORRUPTED(502), FULL(507), INVALID(400), UNAVAILABLE(503);

        private final int status;

        Reason(int status) {
            this.status = status;
        }

        /** @return the HTTP status a refusal of this kind is answered with */
        public int status() {
            return status;
        }

        /** @return the reason of that name, or UNAVAILABLE for a name this node does not know */
        static Reason parse(String name) {
            try {
                return name == null ? UNAVAILABLE : valueOf(name.strip());
            } catch (IllegalArgumentException e) {
                return UNAVAILABLE;
            }
        }
    }

    private final Reason reason;

    public Refusal(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Refusal(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
