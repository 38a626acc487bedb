package dev.thaw.node.instance;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.core.Json;
import dev.thaw.node.instance.RuntimeEndpoint.Request;
import dev.thaw.node.instance.RuntimeEndpoint.Response;
import dev.thaw.node.pool.Invocation;
import dev.thaw.node.xdt.XdtService;
import dev.thaw.protocol.RuntimeProtocol.Headers;
import dev.thaw.protocol.RuntimeProtocol.Routes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/*
 * The routes of the Lambda Runtime API (2018-06-01) for one instance, behind its RuntimeEndpoint:
 * next, response, error, init/error, restore/error.
 *
 * Besides Lambda's own routes, thaw-warmup/next and thaw-warmup/{id}/response|error answer exactly
 * like invocation/next and its replies, at once and without touching any invocation: thaw's runtime
 * runs its own loop against them a few times before its checkpoint, so the classes, call sites and
 * compiled code of that loop are in the snapshot instead of being loaded and linked on every clone's
 * first invocation. How long that loop runs is the node's call: it answers thaw-warmup/next with 204
 * ("enough") once a baseline is done and an invocation waits for an instance of the function, or the node
 * serves any invocation (it yields to them as its other background work does). A boot
 * that someone waits for so keeps to the baseline, while one that no one waits for (a deploy's, which
 * takes the snapshot ahead of the first invocation) runs until the runtime's own cap, long enough for
 * the JIT's second tier to compile the invocation path that every clone then starts from.
 * thaw-prime/next and thaw-prime/{id}/response|error are their twins for a
 * function deployed with priming: they hand over the function's priming event, and the runtime
 * calls the handler with it before its checkpoint.
 *
 * thaw-node/... is not the Runtime API: it is the node's invoke API for the function's own code
 * (THAW_NODE_URL), handed to FunctionCalls with the deployment of the function this endpoint serves
 * as the caller, whatever the request says.
 */
/** Answers one instance's Runtime API requests (see the comment above). */
final class RuntimeApi implements RuntimeEndpoint.Handler {
    /** A small event of every JSON kind, so that the runtime's parser and writer see them all. */
    private static final byte[] WARM_UP_EVENT = ("{\"thaw\":\"warm-up\",\"n\":1,\"x\":1.5,\"ok\":true,\"none\":null,"
            + "\"list\":[1,\"two\",{\"three\":3}]}").getBytes(StandardCharsets.UTF_8);
    /** The body of a {@code next} answer that asks for the snapshot handshake (Headers.CHECKPOINT) instead of an invocation. */
    private static final byte[] CHECKPOINT_BODY = "{\"thaw\":\"checkpoint\"}".getBytes(StandardCharsets.UTF_8);
    private static final String RUNTIME = Routes.BASE;
    private static final String INVOCATION = RUNTIME + "invocation/";

    /**
     * The warm-up every boot runs before its checkpoint, waited for or not: enough exchanges for C1 to
     * compile the runtime's byte loops, within about the time a boot's dump takes anyway.
     */
    static final int BASELINE_WARM_UPS = 300;
    static final long BASELINE_WARM_UP_NANOS = java.time.Duration.ofMillis(150).toNanos();

    private final Instance instance;
    /** When the runtime first asked for a warm-up exchange; 0 before. Only the runtime's one thread asks. */
    private volatile long firstWarmUpNanos;
    /** The node's transfers; null on a node without them (tests of the endpoint alone). */
    private final XdtService xdt;
    /** The node's invoke API for the function's code; null on a node without it (tests of the endpoint alone). */
    private final FunctionCalls calls;

    RuntimeApi(Instance instance, XdtService xdt, FunctionCalls calls) {
        this.instance = instance;
        this.xdt = xdt;
        this.calls = calls;
    }

    /**
     * thaw's transfers ({@code thaw-xdt/objects}): puts stream in and reads stream out, on
     * connections of the runtime's own, never through a byte array of the whole data. The reader
     * or producer is the function this instance serves.
     */
    @Override
    public RuntimeEndpoint.Streamed streamed(String method, String path) {
        String objects = RUNTIME + Routes.XDT_OBJECTS;
        if (!path.startsWith(objects) || xdt == null) {
            return null;
        }
        if (method.equals("POST") && path.equals(objects)) {
            return ex -> xdt.put(caller(), ex);
        }
        if (method.equals("GET") && path.startsWith(objects + "/") && path.length() > objects.length() + 1) {
            String reference = path.substring(objects.length() + 1);
            return ex -> xdt.get(caller(), reference, ex);
        }
        return null;
    }

    private XdtService.Caller caller() {
        Invocation inv = instance.current;
        return new XdtService.Caller(instance.deployment.name(), inv == null ? null : inv.transfers());
    }

    @Override
    public Response handle(Request req, String path) throws InterruptedException {
        if (instance.isDead()) {
            return gone();
        }
        if (calls != null && (path.equals(Routes.NODE_API) || path.startsWith(Routes.NODE_API + "/"))) {
            return nodeApi(req);
        }
        boolean get = req.method().equals("GET");
        boolean post = req.method().equals("POST");
        if (get && path.equals(RUNTIME + Routes.NEXT)) {
            return next();
        }
        if (post && path.startsWith(INVOCATION) && path.endsWith("/response")) {
            return answered(instance.events().completed(instance, requestId(path, INVOCATION, "/response"), req.body()));
        }
        if (post && path.startsWith(INVOCATION) && path.endsWith("/error")) {
            ErrorReport e = ErrorReport.parse(req);
            return answered(instance.events().failed(instance, requestId(path, INVOCATION, "/error"), e.type, e.message,
                    e.stack));
        }
        if (post && path.equals(RUNTIME + Routes.INIT_ERROR)) {
            ErrorReport e = ErrorReport.parse(req);
            instance.lifecycle().initFailed(instance, e.type, e.message, e.stack);
            return ok202();
        }
        if (get && path.equals(RUNTIME + Routes.RESTORE_NEXT)) {
            instance.lifecycle().restoreNext(instance);
            return instance.isDead() ? gone() : new Response(200, Map.of("Content-Type", "application/json"), new byte[0]);
        }
        if (post && path.equals(RUNTIME + Routes.RESTORE_ERROR)) {
            ErrorReport e = ErrorReport.parse(req);
            instance.lifecycle().restoreFailed(instance, e.type, e.message);
            return ok202();
        }
        String warmUp = RUNTIME + Routes.WARM_UP + "/";
        if (get && path.equals(warmUp + "next")) {
            if (warmedUpEnough()) {
                return new Response(204, new LinkedHashMap<>(), new byte[0]);
            }
            instance.warmUpExchanges++;
            return invocation("warmup-" + java.util.UUID.randomUUID(), System.currentTimeMillis() + 60_000, WARM_UP_EVENT);
        }
        if (post && path.startsWith(warmUp)) {
            return ok202();
        }
        String prime = RUNTIME + Routes.PRIME + "/";
        if (get && path.equals(prime + "next")) {
            var round = instance.lifecycle().primingStarted(instance);
            if (round.isEmpty()) {
                return Response.json(404, "{\"errorMessage\":\"this function is not primed, or not before a checkpoint\","
                        + "\"errorType\":\"NotPrimed\"}");
            }
            return invocation(round.get().requestId(), round.get().deadlineEpochMs(), round.get().event());
        }
        if (post && path.startsWith(prime) && (path.endsWith("/response") || path.endsWith("/error"))) {
            String end = path.endsWith("/response") ? "/response" : "/error";
            return accepted(instance.lifecycle().primingEnded(instance, requestId(path, prime, end)));
        }
        return Response.json(404, "{\"errorMessage\":\"no such Runtime API route: " + req.method() + " " + path
                + "\",\"errorType\":\"NotFound\"}");
    }

    /** @return whether the warm-up has done its baseline and may not run longer (see Lifecycle.warmUpMayRunLong) */
    private boolean warmedUpEnough() {
        long now = System.nanoTime();
        if (firstWarmUpNanos == 0) {
            firstWarmUpNanos = now;
        }
        boolean baselineDone = instance.warmUpExchanges >= BASELINE_WARM_UPS
                || now - firstWarmUpNanos >= BASELINE_WARM_UP_NANOS;
        return baselineDone && !instance.lifecycle().warmUpMayRunLong(instance);
    }

    /** Hands a request to the node's invoke API, the query kept, as the function this instance serves. */
    private Response nodeApi(Request req) {
        String raw = req.path();
        String target = raw.substring(raw.indexOf(Routes.NODE_API) + Routes.NODE_API.length());
        FunctionCalls.Answer a = calls.invoke(instance.deployment.manifest(), req.method(),
                target.isEmpty() ? "/" : target, req.headers(), req.body());
        Map<String, String> h = new LinkedHashMap<>();
        a.headers().forEach(e -> h.merge(e.getKey(), e.getValue(), (x, y) -> x + ", " + y));
        return new Response(a.status(), h, a.body());
    }

    private Response next() throws InterruptedException {
        Invocation inv = instance.awaitNext();
        if (inv == null) {
            return gone();
        }
        java.util.Optional<String> checkpoint = inv.checkpointReason();
        // a body as every invocation has: an empty one takes a branch the runtime's compiled reading never took
        Response r = invocation(inv.requestId(), inv.deadlineEpochMs(),
                checkpoint.isPresent() ? CHECKPOINT_BODY : inv.payload());
        checkpoint.ifPresent(why -> r.headers().put(Headers.CHECKPOINT, why.replaceAll("[\\r\\n]", " ")));
        inv.freshenReason().ifPresent(why -> r.headers().put(Headers.FRESHEN, why.replaceAll("[\\r\\n]", " ")));
        return r;
    }

    /** Answers {@code next} (or a twin) with one invocation, headers as Lambda's Runtime API sends them. */
    private Response invocation(String requestId, long deadlineEpochMs, byte[] payload) {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Content-Type", "application/json");
        h.put(Headers.REQUEST_ID, requestId);
        h.put(Headers.DEADLINE_MS, Long.toString(deadlineEpochMs));
        h.put(Headers.FUNCTION_ARN, instance.deployment.arn());
        h.put(Headers.TRACE_ID, "Root=1-" + requestId.replace("-", "").substring(0, 24));
        return new Response(200, h, payload);
    }

    private static String requestId(String path, String prefix, String suffix) {
        return path.substring(prefix.length(), path.length() - suffix.length());
    }

    private static Response ok202() {
        return Response.json(202, "{\"status\":\"OK\"}");
    }

    private static Response accepted(boolean accepted) {
        return accepted ? ok202() : Response.json(400,
                "{\"errorMessage\":\"no such invocation in progress on this instance\",\"errorType\":\"InvalidRequestID\"}");
    }

    /** An invocation was answered: transfers from now on are not its own. */
    private Response answered(boolean accepted) {
        if (accepted) {
            instance.current = null;
        }
        return accepted(accepted);
    }

    private static Response gone() {
        return Response.json(410, "{\"errorMessage\":\"this instance has been stopped\",\"errorType\":\"InstanceStopped\"}");
    }

    /** An error body as runtimes send it: {@code errorMessage}, {@code errorType}, {@code stackTrace}. */
    private record ErrorReport(String type, String message, List<String> stack) {
        static ErrorReport parse(Request req) {
            String headerType = req.header(Headers.ERROR_TYPE).orElse("Unhandled");
            try {
                JsonNode n = Json.mapper().readTree(req.body());
                List<String> stack = new ArrayList<>();
                n.path("stackTrace").forEach(s -> stack.add(s.isTextual() ? s.asText() : s.toString()));
                return new ErrorReport(n.path("errorType").asText(headerType), n.path("errorMessage").asText(""), stack);
            } catch (IOException | RuntimeException e) {
                return new ErrorReport(headerType, new String(req.body(), StandardCharsets.UTF_8), List.of());
            }
        }
    }
}
