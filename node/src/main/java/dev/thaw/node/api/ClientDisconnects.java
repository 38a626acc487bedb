package dev.thaw.node.api;

import io.helidon.common.buffers.DataReader;
import io.helidon.common.socket.SocketWriterException;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.ServerRequest;
import java.io.IOException;
import java.net.SocketException;

/**
 * A client that closes its connection before its answer (a caller that gives up on a slow
 * invocation, a Ctrl-C) is not a failure of the node: the invocation runs to its end and its
 * instance stays as healthy as it was; only the answer has nobody to go to. Such a disconnect is
 * logged as one {@code INFO} line naming the route and the client, never as a stack trace.
 */
final class ClientDisconnects {
    private static final System.Logger LOG = System.getLogger("thaw.node");

    private ClientDisconnects() {
    }

    /**
     * @return whether {@code e} says the client's connection is gone: the server could not write to
     *     it or read the rest of the request from it
     */
    static boolean isDisconnect(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CloseConnectionException || t instanceof SocketWriterException || t instanceof SocketException
                    || t instanceof DataReader.InsufficientDataAvailableException) {
                return true;
            }
            if (t instanceof IOException && t.getMessage() != null
                    && (t.getMessage().contains("Broken pipe") || t.getMessage().contains("Connection reset"))) {
                return true;
            }
        }
        return false;
    }

    /** Logs the disconnect as one line: the route, the client, when it happened and the system's reason. */
    static void log(ServerRequest req, String when, Throwable e) {
        LOG.log(System.Logger.Level.INFO, "client " + client(req) + " went away " + when + ": "
                + req.prologue().method().text() + " " + req.path().path() + " (" + reason(e) + ")");
    }

    private static String client(ServerRequest req) {
        try {
            return req.remotePeer().host() + ":" + req.remotePeer().port();
        } catch (RuntimeException e) {
            return "(address unknown)";
        }
    }

    /** @return the innermost message of the chain, e.g. {@code Connection reset by peer} */
    private static String reason(Throwable e) {
        String reason = null;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof DataReader.InsufficientDataAvailableException) {
                reason = "the connection closed before the request was complete";
            } else if (t.getMessage() != null && !t.getMessage().isBlank()) {
                reason = t.getMessage();
            }
        }
        return reason != null ? reason : e.getClass().getSimpleName();
    }
}
