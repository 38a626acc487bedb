package dev.thaw.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A client of the Lambda Runtime API ({@code 2018-06-01}) on the JDK's HTTP client: one keep-alive
 * connection to the node, which {@link #close()} shuts before a checkpoint so that no socket is
 * left in the image. A restored clone makes a fresh client for its own address.
 */
final class RuntimeApiClient implements AutoCloseable {
    private static final int MAX_STACK_LINES = 50;

    private final HttpClient http;
    private final String base;
    private final ObjectMapper mapper;

    /** One event handed to the runtime by {@code next}. */
    record Invocation(String requestId, long deadlineEpochMs, String invokedArn, byte[] event) {
    }

    RuntimeApiClient(String runtimeApi, ObjectMapper mapper) {
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .build();
        this.base = "http://" + runtimeApi + "/2018-06-01/runtime/";
        this.mapper = mapper;
    }

    /** Blocks until the node hands over the next invocation. */
    Invocation next() throws IOException, InterruptedException {
        HttpResponse<byte[]> r = send(HttpRequest.newBuilder(URI.create(base + "invocation/next")).GET().build());
        String id = r.headers().firstValue("Lambda-Runtime-Aws-Request-Id")
                .orElseThrow(() -> new IOException("the Runtime API answered next without a request id"));
        long deadline = r.headers().firstValue("Lambda-Runtime-Deadline-Ms").map(Long::parseLong)
                .orElse(System.currentTimeMillis() + 900_000);
        String arn = r.headers().firstValue("Lambda-Runtime-Invoked-Function-Arn").orElse("");
        return new Invocation(id, deadline, arn, r.body());
    }

    void respond(String requestId, byte[] result) throws IOException, InterruptedException {
        post("invocation/" + requestId + "/response", result, null);
    }

    void invocationError(String requestId, String errorType, String message, Throwable t)
            throws IOException, InterruptedException {
        post("invocation/" + requestId + "/error", errorBody(errorType, message, t), errorType);
    }

    void initError(String errorType, String message, Throwable t) throws IOException, InterruptedException {
        post("init/error", errorBody(errorType, message, t), errorType);
    }

    void restoreError(String errorType, String message, Throwable t) throws IOException, InterruptedException {
        post("restore/error", errorBody(errorType, message, t), errorType);
    }

    /**
     * Drops the connection at once. {@link HttpClient#close()} would wait for idle keep-alive
     * connections to time out, which holds a checkpoint back by up to a minute.
     */
    @Override
    public void close() {
        http.shutdownNow();
        try {
            http.awaitTermination(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void post(String path, byte[] body, String errorType) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (errorType != null) {
            b.header("Lambda-Runtime-Function-Error-Type", errorType);
        }
        send(b.build());
    }

    private HttpResponse<byte[]> send(HttpRequest request) throws IOException, InterruptedException {
        HttpResponse<byte[]> r = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() / 100 != 2) {
            throw new IOException("the Runtime API answered " + r.statusCode() + " to " + request.uri().getPath()
                    + ": " + new String(r.body(), java.nio.charset.StandardCharsets.UTF_8));
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
