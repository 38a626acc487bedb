package dev.thaw.egress;

/** A request the proxy answers with an error status of its own protocol (HTTP), and why. */
final class ProxyError extends Exception {
    private static final long serialVersionUID = 1L;

    final int status;

    ProxyError(int status, String message) {
        super(message);
        this.status = status;
    }

    ProxyError(int status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
    }
}
