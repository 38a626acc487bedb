package dev.thaw.node.api;

/**
 * Whether the request being handled came from another node of the cluster, which placed it here
 * (header {@value #HEADER}, naming that node, on a request authenticated with the cluster's API
 * token). Such a request runs here and is not placed or fanned out again.
 */
public final class Forwarded {
    /** The header a front door sets on what it forwards: the id of the node it came through. */
    public static final String HEADER = "X-Thaw-Forwarded";
    /** The function version the front door resolved the request's qualifier to. */
    public static final String VERSION_HEADER = "X-Thaw-Version";

    /** The request id of the Event whose attempt a front door forwards: the invocation keeps it. */
    public static final String REQUEST_ID_HEADER = "X-Thaw-Event-Request-Id";

    static final ScopedValue<String> FROM = ScopedValue.newInstance();
    static final ScopedValue<String> REQUEST_ID = ScopedValue.newInstance();

    private Forwarded() {
    }

    /** @return the request id a forwarding node gave the invocation this thread handles, if any */
    public static java.util.Optional<String> requestId() {
        return REQUEST_ID.isBound() ? java.util.Optional.of(REQUEST_ID.get()) : java.util.Optional.empty();
    }

    /** @return whether the request this thread handles was forwarded by another node */
    public static boolean isForwarded() {
        return FROM.isBound();
    }
}
