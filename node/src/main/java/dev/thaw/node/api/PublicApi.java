package dev.thaw.node.api;

import dev.thaw.core.ThawException;
import io.helidon.webserver.http.HttpRouting;

/**
 * The node's public HTTP API (docs/API.md), the front door of every invocation: the routes by
 * concern ({@link FunctionRoutes}, {@link InvokeRoutes}, {@link SnapshotRoutes},
 * {@link NodeRoutes}) over {@link NodeOperations}, and one {@link ErrorMapping} for all of them.
 */
public final class PublicApi {
    private PublicApi() {
    }

    /** Sets up {@code routing} to serve the API of {@code node}. */
    public static void routing(HttpRouting.Builder routing, NodeOperations node) {
        ErrorMapping.register(routing);
        routing.register(new NodeRoutes(node), new FunctionRoutes(node), new InvokeRoutes(node), new SnapshotRoutes(node))
                .any((req, res) -> {
                    throw ThawException.invalidRequest("no such endpoint: %s %s (see docs/API.md)",
                            req.prologue().method().text(), req.path().path());
                });
    }

    /** @return the largest invocation payload the API accepts */
    public static int maxPayloadBytes() {
        return Requests.MAX_PAYLOAD_BYTES;
    }

    /** @return the largest deployment the API accepts */
    public static long maxDeployBytes() {
        return Requests.MAX_DEPLOY_BYTES;
    }
}
