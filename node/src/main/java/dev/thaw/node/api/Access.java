package dev.thaw.node.api;

import dev.thaw.core.ErrorType;
import dev.thaw.core.ThawException;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Objects;
import java.util.Set;

/*
 * Who may use the node's public API.
 *
 * Every request must name the node itself in its Host header (127.0.0.1:PORT, localhost:PORT or
 * [::1]:PORT, plus any address the node is configured to be reached by): a browser tricked by DNS
 * rebinding sends the attacker's host name, and is refused. A request carrying an Origin that is not
 * the node's own is refused too: the API answers no CORS, so a web page can neither read an answer
 * nor, with a "simple" cross-origin POST (text/plain, no preflight), make the node do anything.
 *
 * Then the caller must authenticate: `Authorization: Bearer <token>` with the node's API token
 * (DATA_DIR/api-token, created on first start, owner-only), compared in constant time. Lambda's
 * invoke path also accepts AWS Signature Version 4 with access keys the operator configured
 * (AwsSignature), so the AWS CLI and SDKs work with credentials as against Lambda; a SigV4 request's
 * signature covers its body, so the route verifies it once it has read the body (verifyAws). Only
 * GET /healthz is open, for load balancers and probes, and to them it says only whether the node
 * serves: what it runs, its sandbox and snapshot status, its cluster and transfer ids are for
 * callers with the token (HEALTH_IN_FULL). Invocation may be opened to unauthenticated
 * local callers by an explicit setting; the Host and Origin checks still hold then.
 */
/** Authenticates the public API's callers (see the comment above). */
final class Access implements Filter {
    static final String BEARER = "Bearer ";
    static final String AWS4 = "AWS4-HMAC-SHA256 ";
    /** Set on a request authenticated by an AWS signature that its route must still verify (it covers the body). */
    static final String PENDING_AWS_SIGNATURE = "thaw.pending-aws-signature";
    /** Set on a GET /healthz that carries the API token: it is answered in full. */
    static final String HEALTH_IN_FULL = "thaw.health-in-full";

    /**
     * How the node is reached and who may call it.
     *
     * @param port the public API's port
     * @param token the API token
     * @param openInvoke whether invocations need no authentication
     * @param extraHosts further {@code host[:port]} values the Host header may carry (the node's advertised address)
     * @param keys the AWS access keys accepted on the Lambda path
     */
    record Settings(java.util.function.IntSupplier port, String token, boolean openInvoke, Set<String> extraHosts,
                    AwsSignature.Keys keys) {
        Settings {
            Objects.requireNonNull(token, "token");
            extraHosts = Set.copyOf(extraHosts);
        }
    }

    private final Settings settings;
    private final byte[] token;

    Access(Settings settings) {
        this.settings = settings;
        this.token = settings.token().getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        checkHost(req);
        checkOrigin(req);
        String path = req.path().path();
        if (path.equals("/healthz") && req.prologue().method().text().equals("GET")) {
            String presented = req.headers().first(HeaderNames.AUTHORIZATION).orElse("");
            if (presented.startsWith(BEARER) && tokenMatches(presented.substring(BEARER.length()).strip())) {
                req.context().register(HEALTH_IN_FULL, Boolean.TRUE);
            }
            chain.proceed();
            return;
        }
        String auth = req.headers().first(HeaderNames.AUTHORIZATION).orElse(null);
        if (auth != null && auth.startsWith(BEARER)) {
            if (!tokenMatches(auth.substring(BEARER.length()).strip())) {
                throw unauthenticated(path, "the API token is wrong");
            }
            var from = req.headers().first(HeaderNames.create(Forwarded.HEADER));
            if (from.isPresent()) {
                // a node of the cluster placed it here: it runs here (only the cluster's token gets this far)
                var carrier = ScopedValue.where(Forwarded.FROM, from.get());
                var id = req.headers().first(HeaderNames.create(Forwarded.REQUEST_ID_HEADER));
                if (id.isPresent() && id.get().matches("[A-Za-z0-9-]{1,64}")) {
                    carrier = carrier.where(Forwarded.REQUEST_ID, id.get());
                }
                carrier.run(chain::proceed);
                return;
            }
        } else if (auth != null && auth.startsWith(AWS4) && isLambdaPath(path)) {
            req.context().register(PENDING_AWS_SIGNATURE, Boolean.TRUE);
        } else if (!(settings.openInvoke() && isInvocation(req, path))) {
            throw unauthenticated(path, auth == null ? "the request carries no credentials"
                    : "the Authorization header is neither 'Bearer <token>' nor an AWS signature on the Lambda path");
        }
        chain.proceed();
    }

    private boolean tokenMatches(String presented) {
        return MessageDigest.isEqual(token, presented.getBytes(StandardCharsets.UTF_8));
    }

    private void checkHost(RoutingRequest req) {
        String host = req.headers().first(HeaderNames.HOST).orElse("").strip().toLowerCase(java.util.Locale.ROOT);
        if (!allowedHosts().contains(host)) {
            throw new Refused(ErrorType.Forbidden, host.isEmpty() ? "the request has no Host header"
                    : "Host '" + host + "' is not this node's address; the node answers only requests addressed to "
                    + allowedHosts().stream().sorted().findFirst().orElse("it"));
        }
    }

    private void checkOrigin(RoutingRequest req) {
        req.headers().first(HeaderNames.ORIGIN).ifPresent(origin -> {
            String o = origin.strip().toLowerCase(java.util.Locale.ROOT);
            if (!o.startsWith("http://") || !allowedHosts().contains(o.substring("http://".length()))) {
                throw new Refused(ErrorType.Forbidden, "cross-origin requests are refused (Origin '" + origin
                        + "'): the node's API answers no CORS");
            }
        });
    }

    private Set<String> allowedHosts() {
        int p = settings.port().getAsInt();
        Set<String> hosts = new java.util.HashSet<>(Set.of("127.0.0.1:" + p, "localhost:" + p, "[::1]:" + p));
        settings.extraHosts().forEach(h -> hosts.add(h.toLowerCase(java.util.Locale.ROOT)));
        return hosts;
    }

    static boolean isLambdaPath(String path) {
        return path.startsWith("/2015-03-31/functions/");
    }

    private static boolean isInvocation(RoutingRequest req, String path) {
        return req.prologue().method().text().equals("POST")
                && (isLambdaPath(path) && path.endsWith("/invocations")
                    || path.startsWith("/functions/") && path.endsWith("/invoke"));
    }

    private static ThawException unauthenticated(String path, String why) {
        return new Refused(ErrorType.Unauthorized, "this node requires authentication: " + why + ". Send"
                + " 'Authorization: Bearer <token>' with the node's API token (DATA_DIR/api-token; the thaw CLI reads"
                + " it from THAW_TOKEN or .thaw/data/api-token)"
                + (isLambdaPath(path) ? ", or sign the request with AWS Signature V4 and the node's access keys"
                        + " (DATA_DIR/aws-credentials)" : ""));
    }

    /**
     * Verifies a Lambda-path request whose authentication is an AWS signature, now that its body is
     * read. Does nothing for requests that authenticated otherwise.
     *
     * @throws ThawException {@link ErrorType#Forbidden} when the signature does not verify
     */
    void verifyAws(io.helidon.webserver.http.ServerRequest req, byte[] body) {
        if (req.context().get(PENDING_AWS_SIGNATURE, Boolean.class).isEmpty()) {
            return;
        }
        try {
            AwsSignature.verify(req, body, settings.keys());
        } catch (AwsSignature.Invalid e) {
            throw new LambdaErrors.Coded(ErrorType.Forbidden, e.awsCode, 403, e.getMessage());
        }
    }

    /** An access refusal: the edge answers it with its type's status and, on the Lambda path, AWS's shape. */
    static final class Refused extends ThawException {
        private static final long serialVersionUID = 1L;

        Refused(ErrorType type, String message) {
            super(type, message);
        }
    }
}
