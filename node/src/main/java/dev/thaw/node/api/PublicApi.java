package dev.thaw.node.api;

import dev.thaw.core.ThawException;
import io.helidon.webserver.http.HttpRouting;

/**
 * The node's public HTTP API (docs/API.md), the front door of every invocation: the routes by
 * concern ({@link FunctionRoutes}, {@link InvokeRoutes}, {@link AliasRoutes}, {@link EventRoutes},
 * {@link SnapshotRoutes}, {@link NodeRoutes}) over {@link NodeOperations}, and one {@link ErrorMapping} for all of them.
 */
public final class PublicApi {
    private PublicApi() {
    }

    /**
     * Who may call the API: see {@link Access}.
     *
     * @param port the API's port, once it listens (the Host header must name it)
     * @param token the node's API token
     * @param openInvoke whether invocations need no authentication (an explicit operator choice)
     * @param extraHosts further {@code host:port} values the Host header may carry
     * @param awsCredentials the AWS shared-credentials file whose keys sign Lambda-path requests
     */
    public record Security(java.util.function.IntSupplier port, String token, boolean openInvoke,
                           java.util.Set<String> extraHosts, java.nio.file.Path awsCredentials) {
    }

    /** Sets up {@code routing} to serve the API of {@code node} to callers {@code security} lets in. */
    public static void routing(HttpRouting.Builder routing, NodeOperations node, Security security) {
        ErrorMapping.register(routing);
        Access access = new Access(new Access.Settings(security.port(), security.token(), security.openInvoke(),
                security.extraHosts(), new AwsSignature.Keys(security.awsCredentials())));
        routing.addFilter(access);
        routing.addFilter((chain, req, res) -> {
            String path = req.path().path();
            if (!path.equals("/healthz") && !path.equals("/metrics")) {
                node.awaitJoined(); // the node's own state (health, metrics) needs no cluster
            }
            chain.proceed();
        });
        routing.register(new NodeRoutes(node), new FunctionRoutes(node), new InvokeRoutes(node, access), new AliasRoutes(node),
                        new EventRoutes(node), new SnapshotRoutes(node))
                .any((req, res) -> {
                    ThawException e = ThawException.invalidRequest("no such endpoint: %s %s (see docs/API.md)",
                            req.prologue().method().text(), req.path().path());
                    if (req.path().path().startsWith("/2015-03-31/")) {
                        // an AWS client calling a Lambda operation thaw does not serve: say so in AWS's shape
                        LambdaErrors.send(res, new LambdaErrors.Coded(e.type(), "UnsupportedOperationException", 400,
                                e.getMessage() + ": thaw serves Invoke and the alias operations of Lambda's API"),
                                java.util.UUID.randomUUID().toString());
                        return;
                    }
                    throw e;
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
