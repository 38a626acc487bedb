package dev.thaw.node;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.thaw.core.DeployRequest;
import dev.thaw.core.ErrorBody;
import dev.thaw.core.ErrorType;
import dev.thaw.core.FunctionErrorException;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.Json;
import dev.thaw.core.ThawException;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;

/**
 * The node's public HTTP API (see docs/API.md): deploy, list, describe, delete, logs, evict,
 * invoke (thaw's path and Lambda's local-invoke path), health and metrics. Every failure becomes
 * an {@link ErrorBody} with the status of its {@link ErrorType}; nothing a request does can take
 * the node down.
 */
final class PublicApi {
    static final int MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
    static final long MAX_DEPLOY_BYTES = 256L * 1024 * 1024;
    private static final System.Logger LOG = System.getLogger("thaw.node");

    private final ThawNode node;

    PublicApi(ThawNode node) {
        this.node = node;
    }

    void routing(HttpRouting.Builder r) {
        r.get("/healthz", guarded(this::health))
                .get("/metrics", guarded(this::metrics))
                .get("/functions", guarded(this::list))
                .put("/functions/{name}", guarded(this::deploy))
                .get("/functions/{name}", guarded(this::describe))
                .delete("/functions/{name}", guarded(this::delete))
                .get("/functions/{name}/logs", guarded(this::logs))
                .delete("/functions/{name}/instances", guarded(this::evict))
                .post("/functions/{name}/invoke", guarded(this::invoke))
                .post("/2015-03-31/functions/{name}/invocations", guarded(this::lambdaInvoke))
                .get("/snapshots", guarded((req, res) -> json(res, 200, Map.of("snapshots", node.snapshotReports()))))
                .get("/snapshots/{name}", guarded((req, res) -> json(res, 200, node.snapshotReport(name(req)))))
                .post("/snapshots/{name}/evict", guarded(this::evictSnapshot))
                .post("/snapshots/{name}/load", guarded((req, res) -> json(res, 200, node.loadSnapshot(name(req)))))
                .get("/snapshots/{name}/compare/{other}", guarded(this::compareSnapshots))
                .post("/store/gc", guarded(this::gc))
                .any(guarded((req, res) -> {
                    throw new ThawException(ErrorType.InvalidRequest, "no such endpoint: "
                            + req.prologue().method().text() + " " + req.path().path() + " (see docs/API.md)");
                }));
    }

    private static Handler guarded(Handler h) {
        return (req, res) -> {
            try {
                h.handle(req, res);
            } catch (ThawException e) {
                sendError(res, e);
            } catch (Exception | Error e) {
                LOG.log(System.Logger.Level.ERROR, "unexpected failure on " + req.path().path(), e);
                sendError(res, new ThawException(ErrorType.InternalError,
                        "the node failed unexpectedly: " + e.getClass().getSimpleName() + ": " + e.getMessage()));
            }
        };
    }

    static void sendError(ServerResponse res, ThawException e) {
        res.status(e.type().httpStatus())
                .header("Content-Type", "application/json")
                .header("X-Thaw-Error-Type", e.type().name())
                .send(Json.write(ErrorBody.of(e)));
    }

    private void health(ServerRequest req, ServerResponse res) {
        ObjectNode body = Json.mapper().createObjectNode();
        body.put("status", "ok");
        ObjectNode snapshots = body.putObject("snapshots");
        snapshots.put("enabled", node.criu().isPresent());
        snapshots.put("reason", node.snapshotStatus());
        body.put("functions", node.pools().size());
        body.put("instances", node.instanceCount());
        json(res, 200, body);
    }

    private void metrics(ServerRequest req, ServerResponse res) {
        res.header("Content-Type", node.metrics().contentType()).send(node.metrics().scrape());
    }

    private void list(ServerRequest req, ServerResponse res) {
        ObjectNode body = Json.mapper().createObjectNode();
        body.set("functions", Json.mapper().valueToTree(node.describeAll()));
        json(res, 200, body);
    }

    private void deploy(ServerRequest req, ServerResponse res) throws IOException {
        String name = name(req);
        byte[] body = readBounded(req, MAX_DEPLOY_BYTES, "deployment");
        DeployRequest dr = Json.read(body, DeployRequest.class, "the deployment request");
        if (dr.manifest() == null) {
            throw ThawException.invalidRequest("the deployment request has no 'manifest'");
        }
        FunctionManifest m = dr.manifest();
        if (m.name() != null && !m.name().equals(name)) {
            throw ThawException.invalidRequest("manifest name '%s' does not match the path's '%s'", m.name(), name);
        }
        boolean existed = node.pools().containsKey(name);
        json(res, existed ? 200 : 201, node.deploy(m.withName(name), dr.code()));
    }

    private void evictSnapshot(ServerRequest req, ServerResponse res) {
        String tiers = req.query().first("tiers").orElse("working");
        java.util.Set<String> places = new java.util.TreeSet<>(java.util.Arrays.stream(tiers.split(","))
                .map(String::strip).filter(s -> !s.isEmpty()).toList());
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("function", name(req));
        body.put("dropped", node.evictSnapshot(name(req), places));
        json(res, 200, body);
    }

    private void compareSnapshots(ServerRequest req, ServerResponse res) {
        String other = req.path().pathParameters().get("other");
        if (!FunctionManifest.isValidName(other)) {
            throw ThawException.invalidRequest("'%s' is not a valid function name", other);
        }
        var s = node.compareSnapshots(name(req), other);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("function", name(req));
        body.put("other", other);
        body.put("bytes", s.bytes());
        body.put("otherBytes", s.otherBytes());
        body.put("sharedBytes", s.sharedBytes());
        body.put("storedTogether", s.storedTogether());
        body.put("dedupRatio", s.ratio());
        json(res, 200, body);
    }

    private void gc(ServerRequest req, ServerResponse res) {
        var result = node.repository().gc().orElseThrow(() -> new ThawException(ErrorType.ServiceUnavailable,
                "this node has no snapshot store: " + node.snapshotStatus()));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("manifests", result.manifests());
        body.put("liveChunks", result.liveChunks());
        body.put("deleted", result.deleted());
        body.put("keptRecent", result.keptRecent());
        body.put("keptLeased", result.keptLeased());
        body.put("tookMs", result.took().toMillis());
        json(res, 200, body);
    }

    private void describe(ServerRequest req, ServerResponse res) {
        json(res, 200, node.describe(name(req)));
    }

    private void delete(ServerRequest req, ServerResponse res) {
        long version = node.delete(name(req));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("deleted", name(req));
        body.put("version", version);
        json(res, 200, body);
    }

    private void logs(ServerRequest req, ServerResponse res) {
        int tail;
        try {
            tail = Integer.parseInt(req.query().first("tail").orElse("200"));
        } catch (NumberFormatException e) {
            throw ThawException.invalidRequest("tail must be a number, got '%s'", req.query().first("tail").orElse(""));
        }
        if (tail < 1 || tail > FunctionLog.MAX_LINES_IN_MEMORY) {
            throw ThawException.invalidRequest("tail must be between 1 and %d, got %d", FunctionLog.MAX_LINES_IN_MEMORY, tail);
        }
        String text = String.join("\n", node.logs(name(req), tail));
        res.header("Content-Type", "text/plain; charset=utf-8").send((text.isEmpty() ? "" : text + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private void evict(ServerRequest req, ServerResponse res) throws InterruptedException {
        json(res, 200, Map.of("evicted", node.evict(name(req))));
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
            json(res, 200, body);
        }
    }

    private InvocationResult run(ServerRequest req) throws InterruptedException {
        String name = name(req);
        byte[] payload = readBounded(req, MAX_PAYLOAD_BYTES, "payload");
        if (payload.length > 0 && !Json.isValid(payload)) {
            throw ThawException.invalidRequest("the payload for function '%s' is not valid JSON", name);
        }
        Invocation inv = node.invoke(name, payload);
        try {
            return inv.result.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ThawException t) {
                throw t;
            }
            throw new ThawException(ErrorType.InternalError, "invocation failed: " + e.getCause(), e.getCause());
        }
    }

    private static void timingHeaders(ServerResponse res, InvocationResult r) {
        res.header("X-Thaw-Request-Id", r.requestId())
                .header("X-Thaw-Start", r.start())
                .header("X-Thaw-Duration-Ms", format(r.durationMs()))
                .header("X-Thaw-Function-Version", Long.toString(r.version()));
        r.coldStartMs().ifPresent(ms -> res.header(r.start().equals("restore") ? "X-Thaw-Restore-Ms" : "X-Thaw-Init-Ms", format(ms)));
        r.checkpointMs().ifPresent(ms -> res.header("X-Thaw-Checkpoint-Ms", format(ms)));
        if (r.restore() != null) {
            r.restore().headers().forEach((k, v) -> res.header("X-Thaw-" + k, v));
        }
    }

    private static String format(double ms) {
        return String.format(java.util.Locale.ROOT, "%.3f", ms);
    }

    private static String name(ServerRequest req) {
        String name = req.path().pathParameters().get("name");
        if (!FunctionManifest.isValidName(name)) {
            throw ThawException.invalidRequest("'%s' is not a valid function name", name);
        }
        return name;
    }

    private static byte[] readBounded(ServerRequest req, long limit, String what) {
        var declared = req.headers().contentLength();
        if (declared.isPresent() && declared.getAsLong() > limit) {
            throw tooLarge(what, declared.getAsLong(), limit);
        }
        try (InputStream in = req.content().inputStream()) {
            byte[] body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, limit + 1));
            if (body.length > limit) {
                throw tooLarge(what, -1, limit);
            }
            return body;
        } catch (IOException e) {
            throw ThawException.invalidRequest("cannot read the %s: %s", what, e.getMessage());
        }
    }

    private static ThawException tooLarge(String what, long size, long limit) {
        String sizeText = size >= 0 ? size + " bytes" : "more than " + limit + " bytes";
        return new ThawException(ErrorType.PayloadTooLarge, String.format(
                "the %s is %s; the limit is %d bytes (%d MB)", what, sizeText, limit, limit / (1024 * 1024)));
    }

    private static void json(ServerResponse res, int status, Object body) {
        res.status(status).header("Content-Type", "application/json").send(Json.write(body));
    }

}
