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

    static final ScopedValue<String> FROM = ScopedValue.newInstance();

    private Forwarded() {
    }

    /** @return whether the request this thread handles was forwarded by another node */
    public static boolean isForwarded() {
        return FROM.isBound();
    }
}
