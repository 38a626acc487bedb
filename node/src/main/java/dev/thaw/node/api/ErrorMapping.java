package dev.thaw.node.api;

import dev.thaw.core.ErrorBody;
import dev.thaw.core.ErrorType;
import dev.thaw.core.Json;
import dev.thaw.core.ThawException;
import dev.thaw.criu.SnapshotException;
import dev.thaw.lazy.LazyPagesException;
import dev.thaw.store.StoreException;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * The one place where failures become HTTP answers. Routes throw; library modules throw their own
 * exceptions, which carry no HTTP meaning (the store's, CRIU's, the lazy-pages daemon's); this maps
 * each to the error type a user sees, whose status is the answer's, with a JSON body
 * {@code {"errorType", "errorMessage"}} and {@code X-Thaw-Error-Type}. Anything unexpected is an
 * internal error, logged once with its stack, and never takes the node down.
 */
final class ErrorMapping {
    private static final System.Logger LOG = System.getLogger("thaw.node");

    private ErrorMapping() {
    }

    /** Registers the mapping on a routing, for every route of it. */
    static void register(HttpRouting.Builder routing) {
        routing.error(ThawException.class, (req, res, e) -> send(res, e))
                .error(StoreException.class, (req, res, e) -> send(res, fromStore(e)))
                .error(SnapshotException.class, (req, res, e) -> send(res,
                        new ThawException(ErrorType.InternalError, "a snapshot operation failed: " + e.getMessage(), e)))
                .error(LazyPagesException.class, (req, res, e) -> send(res,
                        new ThawException(ErrorType.InternalError, "a lazy restore failed: " + e.getMessage(), e)))
                .error(Exception.class, ErrorMapping::unexpected);
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
        LOG.log(System.Logger.Level.ERROR, "unexpected failure on " + req.prologue().method().text() + " "
                + req.path().path(), e);
        send(res, new ThawException(ErrorType.InternalError,
                "the node failed unexpectedly: " + e.getClass().getSimpleName() + ": " + e.getMessage()));
    }

    static void send(ServerResponse res, ThawException e) {
        if (res.isSent()) {
            return; // the answer had begun: nothing sensible can follow it
        }
        if (e.type() == ErrorType.Unauthorized) {
            res.header("WWW-Authenticate", "Bearer realm=\"thaw\"");
        }
        res.status(e.type().httpStatus())
                .header("Content-Type", "application/json")
                .header("X-Thaw-Error-Type", e.type().name())
                .send(Json.write(ErrorBody.of(e)));
    }
}
