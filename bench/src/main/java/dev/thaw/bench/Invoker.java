package dev.thaw.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.thaw.core.StartKind;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;

/**
 * Sends one invocation and times it. Its own {@link HttpClient} (HTTP/1.1, keep-alive) rather than
 * {@code ThawClient.invoke}: the actual send instant must be taken right before the request goes out,
 * error answers are samples too, and plain HTTP endpoints have no thaw API.
 */
final class Invoker implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One answer. Times are {@link System#nanoTime()} values.
     *
     * @param node the cluster node that ran it ({@code X-Thaw-Node}), or null
     */
    record Answer(long sentNanos, long endNanos, int status, StartKind startKind, double initMs, double restoreMs,
                  double durationMs, String error, String node) {
    }

    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final HttpClient http;
    private final Duration timeout;
    private final String token;

    /** @param token the node's API token, sent as {@code Authorization: Bearer}; null for none */
    Invoker(Duration timeout, String token) {
        this.timeout = timeout;
        this.token = token;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(executor)
                .connectTimeout(Duration.ofSeconds(10)).build();
    }

    Answer post(URI uri, byte[] body) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(uri).timeout(timeout).header("Content-Type", "application/json");
        if (token != null) {
            builder.header("Authorization", "Bearer " + token);
        }
        HttpRequest request = builder.POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        long sent = System.nanoTime();
        try {
            HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
            long end = System.nanoTime();
            HttpHeaders h = response.headers();
            int status = response.statusCode();
            String error = status >= 200 && status < 300 ? null : errorType(response.body(), status);
            if (error == null && h.firstValue("X-Amz-Function-Error").isPresent()) {
                error = "FunctionError";
            }
            return new Answer(sent, end, status, StartKind.fromHeader(h.firstValue("X-Thaw-Start").orElse(null)),
                    number(h, "X-Thaw-Init-Ms"), number(h, "X-Thaw-Restore-Ms"), number(h, "X-Thaw-Duration-Ms"), error,
                    h.firstValue("X-Thaw-Node").orElse(null));
        } catch (IOException e) {
            return failed(sent, e.getClass().getSimpleName() + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return failed(sent, "interrupted");
        }
    }

    private static Answer failed(long sent, String error) {
        return new Answer(sent, System.nanoTime(), 0, StartKind.UNKNOWN, Double.NaN, Double.NaN, Double.NaN, error, null);
    }

    private static double number(HttpHeaders headers, String name) {
        try {
            return headers.firstValue(name).map(Double::parseDouble).orElse(Double.NaN);
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    /** @return the node's {@code errorType}, else {@code HTTP <status>} */
    private static String errorType(byte[] body, int status) {
        try {
            JsonNode node = JSON.readTree(body);
            if (node != null && node.hasNonNull("errorType")) {
                return node.get("errorType").asText();
            }
        } catch (IOException | RuntimeException e) {
            // not JSON: fall through
        }
        return "HTTP " + status;
    }

    @Override
    public void close() {
        http.close();
        executor.close();
    }
}
