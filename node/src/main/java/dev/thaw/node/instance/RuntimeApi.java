package dev.thaw.node.instance;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.core.Json;
import dev.thaw.node.pool.Invocation;
import dev.thaw.protocol.RuntimeProtocol.Headers;
import dev.thaw.protocol.RuntimeProtocol.Routes;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The Lambda Runtime API ({@code 2018-06-01}) that instances poll, on a listener of its own.
 * Each instance's {@code AWS_LAMBDA_RUNTIME_API} ends in {@code /i/ID}, which is how the node knows
 * which instance is asking; runtimes treat the variable as an opaque prefix.
 *
 * <p>Besides Lambda's own routes, {@code thaw-warmup/next} and {@code thaw-warmup/{id}/response|error}
 * answer exactly like {@code invocation/next} and its replies, at once and without touching any
 * invocation: thaw's runtime runs its own loop against them a few times before its checkpoint, so
 * the classes, call sites and compiled code of that loop are in the snapshot instead of being
 * loaded and linked on every clone's first invocation (about 25 ms per restore, measured).
 *
 * <p>{@code thaw-prime/next} and {@code thaw-prime/{id}/response|error} are their twins for a
 * function deployed with priming: they hand over the function's priming event, and the runtime
 * calls the handler with it before its checkpoint. The pool times each round against the
 * function's timeout.
 */
public final class RuntimeApi {
    private static final String PREFIX = "/i/{id}/" + Routes.VERSION + "/runtime";
    /** A small event of every JSON kind, so that the runtime's parser and writer see them all. */
    private static final byte[] WARM_UP_EVENT = ("{\"thaw\":\"warm-up\",\"n\":1,\"x\":1.5,\"ok\":true,\"none\":null,"
            + "\"list\":[1,\"two\",{\"three\":3}]}").getBytes(java.nio.charset.StandardCharsets.UTF_8);

    private final Map<String, Instance> instances;

    /** @param instances the node's live instances by id */
    public RuntimeApi(Map<String, Instance> instances) {
        this.instances = instances;
    }

    public void routing(HttpRouting.Builder r) {
        r.get(PREFIX + "/" + Routes.NEXT, this::next)
                .post(PREFIX + "/invocation/{requestId}/response", this::response)
                .post(PREFIX + "/invocation/{requestId}/error", this::error)
                .post(PREFIX + "/" + Routes.INIT_ERROR, this::initError)
                .post(PREFIX + "/" + Routes.RESTORE_ERROR, this::restoreError)
                .get(PREFIX + "/" + Routes.WARM_UP + "/next", this::warmUpNext)
                .post(PREFIX + "/" + Routes.WARM_UP + "/{requestId}/response", this::warmUpReply)
                .post(PREFIX + "/" + Routes.WARM_UP + "/{requestId}/error", this::warmUpReply)
                .get(PREFIX + "/" + Routes.PRIME + "/next", this::primeNext)
                .post(PREFIX + "/" + Routes.PRIME + "/{requestId}/response", this::primeReply)
                .post(PREFIX + "/" + Routes.PRIME + "/{requestId}/error", this::primeReply);
    }

    private void primeNext(ServerRequest req, ServerResponse res) {
        Instance instance = instance(req, res);
        if (instance == null) {
            return;
        }
        var round = instance.lifecycle().primingStarted(instance);
        if (round.isEmpty()) {
            res.status(404).send("{\"errorMessage\":\"this function is not primed, or not before a checkpoint\","
                    + "\"errorType\":\"NotPrimed\"}");
            return;
        }
        sendInvocation(res, instance, round.get().requestId(), round.get().deadlineEpochMs(), round.get().event());
    }

    private void primeReply(ServerRequest req, ServerResponse res) {
        Instance instance = instance(req, res);
        if (instance == null) {
            return;
        }
        req.content().as(byte[].class);
        accepted(res, instance.lifecycle().primingEnded(instance, req.path().pathParameters().get("requestId")));
    }

    private void warmUpNext(ServerRequest req, ServerResponse res) {
        Instance instance = instance(req, res);
        if (instance == null) {
            return;
        }
        sendInvocation(res, instance, "warmup-" + java.util.UUID.randomUUID(), System.currentTimeMillis() + 60_000,
                WARM_UP_EVENT);
    }

    private void warmUpReply(ServerRequest req, ServerResponse res) {
        if (instance(req, res) == null) {
            return;
        }
        req.content().as(byte[].class);
        res.status(202).send("{\"status\":\"OK\"}");
    }


    private void next(ServerRequest req, ServerResponse res) {
        Instance instance = instance(req, res);
        if (instance == null) {
            return;
        }
        Invocation inv;
        try {
            inv = instance.awaitNext();
        } catch (InterruptedException e) {
            // the node is shutting down: the instance goes with it (no stack trace in the node's log)
            Thread.currentThread().interrupt();
            inv = null;
        }
        if (inv == null) {
            gone(res);
            return;
        }
        sendInvocation(res, instance, inv.requestId(), inv.deadlineEpochMs(), inv.payload());
    }

    /** Answers {@code next} (or its warm-up twin) with one invocation, headers as Lambda's Runtime API sends them. */
    private static void sendInvocation(ServerResponse res, Instance instance, String requestId, long deadlineEpochMs,
                                       byte[] payload) {
        res.header(Headers.REQUEST_ID, requestId)
                .header(Headers.DEADLINE_MS, Long.toString(deadlineEpochMs))
                .header(Headers.FUNCTION_ARN, instance.deployment.arn())
                .header(Headers.TRACE_ID, "Root=1-" + requestId.replace("-", "").substring(0, 24))
                .header("Content-Type", "application/json")
                .send(payload);
    }

    private void response(ServerRequest req, ServerResponse res) {
        Instance instance = instance(req, res);
        if (instance == null) {
            return;
        }
        byte[] body = req.content().as(byte[].class);
        boolean accepted = instance.events().completed(instance, req.path().pathParameters().get("requestId"), body);
        accepted(res, accepted);
    }

    private void error(ServerRequest req, ServerResponse res) throws IOException {
        Instance instance = instance(req, res);
        if (instance == null) {
            return;
        }
        ErrorReport e = ErrorReport.parse(req);
        boolean accepted = instance.events().failed(instance, req.path().pathParameters().get("requestId"),
                e.type, e.message, e.stack);
        accepted(res, accepted);
    }

    private void initError(ServerRequest req, ServerResponse res) throws IOException {
        Instance instance = instance(req, res);
        if (instance == null) {
            return;
        }
        ErrorReport e = ErrorReport.parse(req);
        res.status(202).send("{\"status\":\"OK\"}");
        instance.lifecycle().initFailed(instance, e.type, e.message, e.stack);
    }

    private void restoreError(ServerRequest req, ServerResponse res) throws IOException {
        Instance instance = instance(req, res);
        if (instance == null) {
            return;
        }
        ErrorReport e = ErrorReport.parse(req);
        res.status(202).send("{\"status\":\"OK\"}");
        instance.lifecycle().restoreFailed(instance, e.type, e.message);
    }

    private Instance instance(ServerRequest req, ServerResponse res) {
        Instance i = instances.get(req.path().pathParameters().get("id"));
        if (i == null || i.isDead()) {
            gone(res);
            return null;
        }
        return i;
    }

    private static void accepted(ServerResponse res, boolean accepted) {
        if (accepted) {
            res.status(202).send("{\"status\":\"OK\"}");
        } else {
            res.status(400).send("{\"errorMessage\":\"no such invocation in progress on this instance\","
                    + "\"errorType\":\"InvalidRequestID\"}");
        }
    }

    private static void gone(ServerResponse res) {
        res.status(410).send("{\"errorMessage\":\"this instance has been stopped\",\"errorType\":\"InstanceStopped\"}");
    }

    /** An error body as runtimes send it: {@code errorMessage}, {@code errorType}, {@code stackTrace}. */
    private record ErrorReport(String type, String message, List<String> stack) {
        static ErrorReport parse(ServerRequest req) {
            String headerType = req.headers().first(io.helidon.http.HeaderNames.create(Headers.ERROR_TYPE))
                    .orElse("Unhandled");
            byte[] body = req.content().as(byte[].class);
            try {
                JsonNode n = Json.mapper().readTree(body);
                List<String> stack = new ArrayList<>();
                n.path("stackTrace").forEach(s -> stack.add(s.asText()));
                return new ErrorReport(n.path("errorType").asText(headerType), n.path("errorMessage").asText(""), stack);
            } catch (IOException | RuntimeException e) {
                return new ErrorReport(headerType, new String(body, java.nio.charset.StandardCharsets.UTF_8), List.of());
            }
        }
    }
}
