package dev.thaw.node.api;

import dev.thaw.core.ErrorType;
import dev.thaw.core.Json;
import dev.thaw.core.StartKind;
import dev.thaw.core.ThawException;
import dev.thaw.node.function.FunctionRef;
import dev.thaw.node.pool.Invocation;
import dev.thaw.node.pool.InvocationResult;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderName;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import dev.thaw.node.placement.Forwarder;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutionException;

/*
 * Invocation, on thaw's POST /functions/{name}/invoke and on Lambda's
 * POST /2015-03-31/functions/{name}/invocations, which AWS clients call (docs/API.md).
 *
 * Both paths take the same request: the function as a name, name:qualifier or ARN, the Qualifier
 * query parameter, X-Amz-Invocation-Type (RequestResponse, the default; Event: queued durably and
 * answered 202 at once; DryRun: checked, nothing runs, 204) and X-Amz-Log-Type (Tail: the
 * invocation's own log in X-Amz-Log-Result). Both answer with the same headers: X-Amz-Executed-Version,
 * X-Amz-Request-Id and x-amzn-RequestId beside thaw's X-Thaw-* timings. They differ in their errors:
 * thaw's path answers a function's failure with a 5xx and thaw's error body, the Lambda path with a
 * 200, X-Amz-Function-Error: Unhandled and Lambda's body, and its platform errors in AWS's shape
 * (LambdaErrors).
 */
/** The invoke paths (see the comment above). */
final class InvokeRoutes implements HttpService {
    private static final System.Logger LOG = System.getLogger("thaw.node");
    /** Largest payload of an {@code Event} invocation: Lambda's 256 KB. */
    static final int MAX_EVENT_BYTES = 256 * 1024;
    /** Longest an answer waits for its instance's last lines to be read, for its log tail. */
    private static final Duration LOG_WAIT = Duration.ofSeconds(2);
    /** Lambda's log tail: the last 4 KB. */
    private static final int TAIL_BYTES = 4096;

    private static final HeaderName INVOCATION_TYPE = HeaderNames.create("X-Amz-Invocation-Type");
    private static final HeaderName LOG_TYPE = HeaderNames.create("X-Amz-Log-Type");

    /** Lambda's invocation types. */
    enum Type { RequestResponse, Event, DryRun }

    private final NodeOperations node;
    private final Access access;

    InvokeRoutes(NodeOperations node, Access access) {
        this.node = node;
        this.access = access;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/functions/{name}/invoke", (req, res) -> invoke(req, res, false))
                .post("/2015-03-31/functions/{name}/invocations", (req, res) -> invoke(req, res, true));
    }

    private void invoke(ServerRequest req, ServerResponse res, boolean lambda) {
        String errorId = UUID.randomUUID().toString();
        try (NodeOperations.Admission admitted = node.admit()) {
            Type type = type(req);
            boolean tail = tail(req);
            FunctionRef ref = FunctionRef.parse(req.path().pathParameters().get("name"), qualifier(req));
            if (Forwarded.isForwarded()) {
                // the front door resolved the qualifier: run that version, whatever an alias here says
                Optional<String> v = req.headers().first(HeaderNames.create(Forwarded.VERSION_HEADER));
                if (v.isPresent()) {
                    ref = new FunctionRef(ref.name(), Optional.of(v.get()));
                }
            }
            int limit = type == Type.Event ? MAX_EVENT_BYTES : Requests.MAX_PAYLOAD_BYTES;
            byte[] payload = Requests.readBounded(req, limit,
                    type == Type.Event ? "payload of an Event invocation" : "payload");
            access.verifyAws(req, payload);
            if (payload.length > 0 && !Json.isValid(payload)) {
                throw LambdaErrors.invalidContent("Could not parse request body into json: the payload for function '%s'"
                        + " is not valid JSON", ref.name());
            }
            switch (type) {
                case DryRun -> res.status(204).header("X-Amz-Executed-Version", Long.toString(node.resolveVersion(ref)))
                        .header("x-amzn-RequestId", errorId).send();
                case Event -> {
                    String id = node.enqueue(ref, payload);
                    res.status(202).header("X-Amz-Request-Id", id).header("x-amzn-RequestId", id)
                            .header("X-Thaw-Request-Id", id).send();
                }
                case RequestResponse -> {
                    Optional<Forwarder.Answer> remote = node.forwardInvocation(ref, Requests.target(req),
                            forwardedHeaders(req), payload);
                    if (remote.isPresent()) {
                        relay(res, remote.get());
                    } else {
                        run(res, node.invoke(ref, payload, tail), lambda);
                    }
                }
            }
        } catch (ThawException e) {
            if (!lambda) {
                throw e; // ErrorMapping: thaw's shape
            }
            LambdaErrors.send(res, e, errorId);
        } catch (RuntimeException e) {
            if (!lambda) {
                throw e;
            }
            LOG.log(System.Logger.Level.ERROR, "unexpected failure on the Lambda invoke path", e);
            LambdaErrors.send(res, new ThawException(ErrorType.InternalError, "the node failed unexpectedly: "
                    + e.getClass().getSimpleName() + ": " + e.getMessage()), errorId);
        }
    }

    /** Headers of an invocation request that go with it to the node that runs it. */
    private static final List<HeaderName> FORWARDED = List.of(HeaderNames.CONTENT_TYPE, INVOCATION_TYPE, LOG_TYPE,
            HeaderNames.create("X-Amz-Client-Context"));
    /** Headers of the remote node's answer that belong to its connection, not to the answer. */
    private static final java.util.Set<String> HOP_BY_HOP = java.util.Set.of("connection", "keep-alive", "date",
            "content-length", "transfer-encoding");

    private static List<Map.Entry<String, String>> forwardedHeaders(ServerRequest req) {
        List<Map.Entry<String, String>> out = new java.util.ArrayList<>();
        for (HeaderName h : FORWARDED) {
            req.headers().first(h).ifPresent(v -> out.add(Map.entry(h.defaultCase(), v)));
        }
        return out;
    }

    /** Answers with what the node that ran the invocation answered: status, headers, body. */
    private static void relay(ServerResponse res, Forwarder.Answer a) {
        res.status(a.status());
        for (Map.Entry<String, String> h : a.headers()) {
            if (!HOP_BY_HOP.contains(h.getKey().toLowerCase(Locale.ROOT))) {
                res.header(h.getKey(), h.getValue());
            }
        }
        res.send(a.body());
    }

    /** Waits for a synchronous invocation and answers it. */
    private void run(ServerResponse res, Invocation inv, boolean lambda) {
        InvocationResult r;
        try {
            r = inv.result().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ThawException(ErrorType.ServiceUnavailable, "the node stopped while the invocation ran");
        } catch (ExecutionException e) {
            ThawException failure = e.getCause() instanceof ThawException t ? t
                    : new ThawException(ErrorType.InternalError, "invocation failed: " + e.getCause(), e.getCause());
            var functionFailure = LambdaErrors.functionFailure(failure, inv.requestId(), inv.timeoutMs());
            if (functionFailure.isEmpty()) {
                throw failure; // the platform's: the invocation did not run
            }
            invocationHeaders(res, inv, inv.version());
            if (!lambda) {
                throw failure;
            }
            res.header("X-Amz-Function-Error", "Unhandled");
            Requests.json(res, 200, functionFailure.get().body());
            return;
        }
        invocationHeaders(res, inv, r.version());
        timingHeaders(res, r);
        res.header("Content-Type", "application/json").send(r.body());
    }

    /** Headers every answer of an invocation that ran carries, failed or not. */
    private void invocationHeaders(ServerResponse res, Invocation inv, long version) {
        node.clusterNodeId().ifPresent(id -> res.header("X-Thaw-Node", id));
        res.header("X-Amz-Executed-Version", Long.toString(version))
                .header("X-Amz-Request-Id", inv.requestId())
                .header("x-amzn-RequestId", inv.requestId())
                .header("X-Thaw-Request-Id", inv.requestId());
        if (inv.capturesLog()) {
            try {
                inv.awaitLogCapture(LOG_WAIT);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            res.header("X-Amz-Log-Result", Base64.getEncoder().encodeToString(inv.logTail(TAIL_BYTES)));
        }
    }

    private static Type type(ServerRequest req) {
        Optional<String> value = req.headers().first(INVOCATION_TYPE);
        if (value.isEmpty() || value.get().isEmpty()) {
            return Type.RequestResponse;
        }
        try {
            return Type.valueOf(value.get());
        } catch (IllegalArgumentException e) {
            throw LambdaErrors.invalidParameter("X-Amz-Invocation-Type '%s' is not one of %s", value.get(),
                    Arrays.toString(Type.values()));
        }
    }

    private static boolean tail(ServerRequest req) {
        Optional<String> value = req.headers().first(LOG_TYPE);
        if (value.isEmpty() || value.get().isEmpty() || value.get().equals("None")) {
            return false;
        }
        if (value.get().equals("Tail")) {
            return true;
        }
        throw LambdaErrors.invalidParameter("X-Amz-Log-Type '%s' is not one of [None, Tail]", value.get());
    }

    private static Optional<String> qualifier(ServerRequest req) {
        Optional<String> q = req.query().first("Qualifier").asOptional();
        return q.isPresent() ? q : req.query().first("qualifier").asOptional();
    }

    private static void timingHeaders(ServerResponse res, InvocationResult r) {
        res.header("X-Thaw-Start", r.start().wireName())
                .header("X-Thaw-Duration-Ms", format(r.durationMs()))
                .header("X-Thaw-Function-Version", Long.toString(r.version()));
        r.coldStartMs().ifPresent(ms -> res.header(r.start() == StartKind.BOOT ? "X-Thaw-Init-Ms" : "X-Thaw-Restore-Ms",
                format(ms)));
        r.checkpointMs().ifPresent(ms -> res.header("X-Thaw-Checkpoint-Ms", format(ms)));
        r.prewarmedAgeMs().ifPresent(ms -> res.header("X-Thaw-Prewarmed-Ms", format(ms)));
        r.maxMemoryBytes().ifPresent(b -> res.header("X-Thaw-Max-Memory-Bytes", Long.toString(b)));
        if (r.startReport() != null) {
            r.startReport().headers().forEach((k, v) -> res.header("X-Thaw-" + k, v));
        }
    }

    private static String format(double ms) {
        return String.format(Locale.ROOT, "%.3f", ms);
    }
}
