package dev.thaw.node.api;

import dev.thaw.core.ErrorBody;
import dev.thaw.core.ErrorType;
import dev.thaw.core.Json;
import dev.thaw.core.ThawException;
import dev.thaw.criu.SnapshotException;
import dev.thaw.lazy.LazyPagesException;
import dev.thaw.store.StoreException;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * The one place where failures become HTTP answers. Routes throw; library modules throw their own
 * exceptions, which carry no HTTP meaning (the store's, CRIU's, the lazy-pages daemon's); this maps
 * each to the error type a user sees, whose status is the answer's, with a JSON body
 * {@code {"errorType", "errorMessage"}} and {@code X-Thaw-Error-Type}. Anything unexpected is an
 * internal error, logged once with its stack, and never takes the node down. A client that went away
 * before its answer is neither: it is logged as one quiet line ({@link ClientDisconnects}), whether
 * the route found out while reading the request, while sending its answer (seen by the filter below,
 * as the server's connection-closing exception passes it) or while sending an error answer.
 */
final class ErrorMapping {
    private static final System.Logger LOG = System.getLogger("thaw.node");

    private ErrorMapping() {
    }

    /** Registers the mapping on a routing, for every route of it. */
    static void register(HttpRouting.Builder routing) {
        routing.addFilter(ErrorMapping::noticeDisconnects)
                .error(ThawException.class, (req, res, e) -> send(req, res, e))
                .error(StoreException.class, (req, res, e) -> send(req, res, fromStore(e)))
                .error(SnapshotException.class, (req, res, e) -> send(req, res,
                        new ThawException(ErrorType.InternalError, "a snapshot operation failed: " + e.getMessage(), e)))
                .error(LazyPagesException.class, (req, res, e) -> send(req, res,
                        new ThawException(ErrorType.InternalError, "a lazy restore failed: " + e.getMessage(), e)))
                .error(Exception.class, ErrorMapping::unexpected);
    }

    /**
     * Sees what the server's error handling lets through: the exception with which it closes a
     * connection that a route could not write its answer to (or read its request from). Helidon
     * only traces it; here it becomes the one line a disconnect gets, and goes on its way.
     */
    private static void noticeDisconnects(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        try {
            chain.proceed();
        } catch (CloseConnectionException e) {
            if (ClientDisconnects.isDisconnect(e.getCause())) {
                ClientDisconnects.log(req, res.isSent() ? "before its answer was sent" : "while its request was read", e);
            }
            throw e;
        }
    }

    /** @return the user-visible error a store failure is */
    static ThawException fromStore(StoreException e) {
        ErrorType type = switch (e) {
            case StoreException.Unavailable u -> ErrorType.ServiceUnavailable;
            case StoreException.Full f -> ErrorType.ServiceUnavailable;
            case StoreException.NotFound n -> ErrorType.InvalidRequest;
            case StoreException.InvalidArgument a -> ErrorType.InvalidRequest;
            default -> ErrorType.InternalError;
        };
        return new ThawException(type, e.getMessage(), e);
    }

    private static void unexpected(ServerRequest req, ServerResponse res, Exception e) {
        if (ClientDisconnects.isDisconnect(e)) {
            // the request's body stopped half-way: the client is gone, the node is fine
            ClientDisconnects.log(req, "while its request was read", e);
            send(req, res, new ThawException(ErrorType.InvalidRequest, "the request ended early"));
            return;
        }
        LOG.log(System.Logger.Level.ERROR, "unexpected failure on " + req.prologue().method().text() + " "
                + req.path().path(), e);
        send(req, res, new ThawException(ErrorType.InternalError,
                "the node failed unexpectedly: " + e.getClass().getSimpleName() + ": " + e.getMessage()));
    }

    /**
     * Sends the error answer. When the client has gone meanwhile the answer is dropped with one line
     * of log: the response then counts as sent, so the server adds no error handling of its own.
     */
    static void send(ServerRequest req, ServerResponse res, ThawException e) {
        if (res.isSent()) {
            return; // the answer had begun: nothing sensible can follow it
        }
        if (e.type() == ErrorType.Unauthorized) {
            res.header("WWW-Authenticate", "Bearer realm=\"thaw\"");
        }
        try {
            res.status(e.type().httpStatus())
                    .header("Content-Type", "application/json")
                    .header("X-Thaw-Error-Type", e.type().name())
                    .send(Json.write(ErrorBody.of(e)));
        } catch (RuntimeException failed) {
            if (!ClientDisconnects.isDisconnect(failed)) {
                throw failed;
            }
            ClientDisconnects.log(req, "before its answer (" + e.type() + ") was sent", failed);
        }
    }
}
