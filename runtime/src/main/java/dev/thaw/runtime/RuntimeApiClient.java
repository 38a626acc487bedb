package dev.thaw.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.thaw.protocol.RuntimeProtocol.Headers;
import dev.thaw.protocol.RuntimeProtocol.Routes;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A client of the Lambda Runtime API ({@code 2018-06-01}) over {@link RuntimeHttp}: one keep-alive
 * connection to the node, which {@link #close()} shuts before a checkpoint so that no socket is
 * left in the image. A restored clone makes a fresh client for its own address.
 */
final class RuntimeApiClient implements AutoCloseable {
    private static final int MAX_STACK_LINES = 50;

    /** Where invocations are taken and answered. */
    private static final String INVOKE_UNDER = Routes.BASE;
    /** Where the warm-up's requests go: the node answers them at once and touches no invocation. */
    private static final String WARM_UP_UNDER = Routes.BASE + Routes.WARM_UP + "/";
    /** A long warm-up reconnects this often, as every clone does once (see warmUp). */
    private static final int RECONNECT_EVERY = 500;
    private final RuntimeHttp http;
    private final ObjectMapper mapper;

    /**
     * One event handed to the runtime by {@code next}.
     *
     * @param freshen why the platform calls the freshen hook instead of the handler; null for an invocation
     * @param checkpoint why the node asks for the snapshot handshake instead of an invocation; null for an invocation
     */
    record Invocation(String requestId, long deadlineEpochMs, String invokedArn, byte[] event, String freshen,
                      String checkpoint) {
        Invocation(String requestId, long deadlineEpochMs, String invokedArn, byte[] event) {
            this(requestId, deadlineEpochMs, invokedArn, event, null, null);
        }
    }

    RuntimeApiClient(String runtimeApi, ObjectMapper mapper) {
        this.http = new RuntimeHttp(runtimeApi);
        this.mapper = mapper;
    }

    /** Blocks until the node hands over the next invocation. */
    Invocation next() throws IOException, InterruptedException {
        Invocation inv = invocation(INVOKE_UNDER + Routes.NEXT);
        if (inv == null) {
            throw new IOException("the Runtime API answered " + Routes.NEXT + " without an invocation");
        }
        return inv;
    }

    /**
     * Runs this client's whole exchange, {@code next} then {@code response} (and once {@code error}),
     * against the node's warm-up routes, which answer at once and touch no invocation: loads and
     * links the code a clone's first invocation would otherwise load after its restore.
     *
     * @param rounds at most this many exchanges (enough for the JIT to compile the hot parts)
     * @param budget and no more rounds once this much time has passed
     * @param config for the invocation context each exchange builds, as the invocation path does
     * @param conversions the handler's own reading and writing, run on made-up events and results in
     *     each exchange (the handler is never called); when empty, the exchange echoes the node's event
     * @return whether the node ended it: it answers {@code next} with 204, its "enough", once an
     *     invocation waits for an instance of the function (else the rounds or the budget did)
     */
    boolean warmUp(int rounds, java.time.Duration budget, RuntimeConfig config,
                   java.util.Optional<FunctionInvoker.Conversions> conversions) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + budget.toNanos();
        for (int i = 0; i < rounds && System.nanoTime() < deadline; i++) {
            if (i % RECONNECT_EVERY == RECONNECT_EVERY - 1) {
                // Every clone opens a new connection after its restore. Compiled by a warm-up that never
                // reconnected, that branch is an uncommon trap: it threw the whole compiled request path
                // away in every clone's first request, to be compiled again in each.
                http.close();
            }
            Invocation inv = invocation(WARM_UP_UNDER + "next");
            if (inv == null) {
                return true;
            }
            RuntimeContext ctx = new RuntimeContext(config, inv.requestId(), inv.invokedArn(), inv.deadlineEpochMs());
            ctx.getRemainingTimeInMillis();
            byte[] result = conversions.isPresent() ? conversions.get().exercise(i)
                    : mapper.writeValueAsBytes(mapper.readTree(inv.event()));
            respond(WARM_UP_UNDER, inv.requestId(), result);
            if (i == 0) {
                invocationError(WARM_UP_UNDER, inv.requestId(), "Runtime.WarmUp", "warm-up",
                        new IllegalStateException("warm-up"));
            }
        }
        return false;
    }

    /**
     * Asks the warm-up route once, answering nothing: the node touches no invocation for it.
     *
     * @return whether the node says "enough" now (an invocation waits for the function)
     */
    boolean warmUpEnded() throws IOException {
        return invocation(WARM_UP_UNDER + "next") == null;
    }

    /** The next priming invocation: the function's priming event, from the node's priming route. */
    Invocation primeNext() throws IOException {
        return invocation(Routes.BASE + Routes.PRIME + "/next");
    }

    void primeRespond(String requestId, byte[] result) throws IOException, InterruptedException {
        post(Routes.BASE + Routes.PRIME + "/" + requestId + "/response", result, null);
    }

    void primeError(String requestId, String errorType, String message, Throwable t)
            throws IOException, InterruptedException {
        post(Routes.BASE + Routes.PRIME + "/" + requestId + "/error", errorBody(errorType, message, t), errorType);
    }

    /** @return the invocation the node handed over; null for a 204, the node's "no more" to a warm-up */
    private Invocation invocation(String path) throws IOException {
        RuntimeHttp.Response r = check(path, http.get(path));
        if (r.status() == 204) {
            return null;
        }
        String id = r.header(Headers.REQUEST_ID);
        if (id == null) {
            throw new IOException("the Runtime API answered next without a request id");
        }
        String deadline = r.header(Headers.DEADLINE_MS);
        String arn = r.header(Headers.FUNCTION_ARN);
        return new Invocation(id, deadline == null ? System.currentTimeMillis() + 900_000 : Long.parseLong(deadline),
                arn == null ? "" : arn, r.body(), r.header(Headers.FRESHEN), r.header(Headers.CHECKPOINT));
    }

    void respond(String requestId, byte[] result) throws IOException, InterruptedException {
        respond(INVOKE_UNDER, requestId, result);
    }

    void invocationError(String requestId, String errorType, String message, Throwable t)
            throws IOException, InterruptedException {
        invocationError(INVOKE_UNDER, requestId, errorType, message, t);
    }

    /*
     * The warm-up posts through these very methods, under its own route: every call site on the way
     * (the routes' string concatenations link on their first run, a millisecond or more each on a
     * 2-core machine) is then linked in the snapshot rather than in each clone's first invocation.
     * Both prefixes are non-empty: the JDK's two-string concatenation returns the other string when
     * one is empty, and a branch the warm-up never took is compiled as an uncommon trap that threw
     * the compiled concatenation away in every clone's first response.
     */
    private void respond(String under, String requestId, byte[] result) throws IOException, InterruptedException {
        post(under + Routes.response(requestId), result, null);
    }

    private void invocationError(String under, String requestId, String errorType, String message, Throwable t)
            throws IOException, InterruptedException {
        post(under + Routes.error(requestId), errorBody(errorType, message, t), errorType);
    }

    void initError(String errorType, String message, Throwable t) throws IOException, InterruptedException {
        post(Routes.BASE + Routes.INIT_ERROR, errorBody(errorType, message, t), errorType);
    }

    void restoreError(String errorType, String message, Throwable t) throws IOException, InterruptedException {
        post(Routes.BASE + Routes.RESTORE_ERROR, errorBody(errorType, message, t), errorType);
    }

    @Override
    public void close() {
        http.close();
    }

    private void post(String path, byte[] body, String errorType) throws IOException, InterruptedException {
        Map<String, String> headers = errorType == null
                ? Map.of("Content-Type", "application/json")
                : Map.of("Content-Type", "application/json", Headers.ERROR_TYPE, errorType);
        check(path, http.post(path, body, headers));
    }

    private static RuntimeHttp.Response check(String path, RuntimeHttp.Response r) throws IOException {
        if (r.status() / 100 != 2) {
            throw new IOException("the Runtime API answered " + r.status() + " to " + path + ": "
                    + new String(r.body(), java.nio.charset.StandardCharsets.UTF_8));
        }
        return r;
    }

    private byte[] errorBody(String errorType, String message, Throwable t) throws IOException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("errorMessage", message == null ? "" : message);
        body.put("errorType", errorType);
        body.put("stackTrace", stackLines(t));
        return mapper.writeValueAsBytes(body);
    }

    static List<String> stackLines(Throwable t) {
        if (t == null) {
            return List.of();
        }
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        return Arrays.stream(w.toString().split("\\R")).limit(MAX_STACK_LINES).map(String::strip).toList();
    }
}
