package dev.thaw.node.api;

import dev.thaw.core.ErrorType;
import dev.thaw.core.FunctionErrorException;
import dev.thaw.core.Json;
import dev.thaw.core.StartKind;
import dev.thaw.core.ThawException;
import dev.thaw.node.pool.Invocation;
import dev.thaw.node.pool.InvocationResult;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;

/** Invocation: thaw's {@code POST /functions/{name}/invoke} and Lambda's local-invoke path. */
final class InvokeRoutes implements HttpService {
    private final NodeOperations node;
    private final Access access;

    InvokeRoutes(NodeOperations node, Access access) {
        this.node = node;
        this.access = access;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/functions/{name}/invoke", this::invoke)
                .post("/2015-03-31/functions/{name}/invocations", this::lambdaInvoke);
    }

    private void invoke(ServerRequest req, ServerResponse res) throws InterruptedException {
        InvocationResult r = run(req);
        timingHeaders(res, r);
        res.header("Content-Type", "application/json").send(r.body());
    }

    /** Lambda's shape: a function error is a 200 with {@code X-Amz-Function-Error}, platform errors are not. */
    private void lambdaInvoke(ServerRequest req, ServerResponse res) throws InterruptedException {
        try {
            invoke(req, res);
        } catch (FunctionErrorException e) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("errorMessage", e.getMessage());
            body.put("errorType", e.functionErrorType());
            body.put("stackTrace", e.functionStackTrace());
            res.header("X-Amz-Function-Error", "Unhandled");
            Requests.json(res, 200, body);
        }
    }

    private InvocationResult run(ServerRequest req) throws InterruptedException {
        String name = Requests.name(req);
        byte[] payload = Requests.readBounded(req, Requests.MAX_PAYLOAD_BYTES, "payload");
        access.verifyAws(req, payload);
        if (payload.length > 0 && !Json.isValid(payload)) {
            throw ThawException.invalidRequest("the payload for function '%s' is not valid JSON", name);
        }
        Invocation inv = node.invoke(name, payload);
        try {
            return inv.result().get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ThawException t) {
                throw t;
            }
            throw new ThawException(ErrorType.InternalError, "invocation failed: " + e.getCause(), e.getCause());
        }
    }

    private static void timingHeaders(ServerResponse res, InvocationResult r) {
        res.header("X-Thaw-Request-Id", r.requestId())
                .header("X-Thaw-Start", r.start().wireName())
                .header("X-Thaw-Duration-Ms", format(r.durationMs()))
                .header("X-Thaw-Function-Version", Long.toString(r.version()));
        r.coldStartMs().ifPresent(ms -> res.header(r.start() == StartKind.BOOT ? "X-Thaw-Init-Ms" : "X-Thaw-Restore-Ms",
                format(ms)));
        r.checkpointMs().ifPresent(ms -> res.header("X-Thaw-Checkpoint-Ms", format(ms)));
        r.maxMemoryBytes().ifPresent(b -> res.header("X-Thaw-Max-Memory-Bytes", Long.toString(b)));
        if (r.startReport() != null) {
            r.startReport().headers().forEach((k, v) -> res.header("X-Thaw-" + k, v));
        }
    }

    private static String format(double ms) {
        return String.format(Locale.ROOT, "%.3f", ms);
    }
}
