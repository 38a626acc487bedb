package dev.thaw.client;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** A canned-answer HTTP server standing in for a node: checks request shapes, not node behaviour. */
public final class FakeNode implements AutoCloseable {

    /** A request as the fake saw it. */
    public record Request(String method, String path, String query, String contentType, byte[] body,
                          Map<String, String> headers) {
        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }

        /** @return the request's header of that name (any case), or null */
        public String header(String name) {
            return headers.get(name.toLowerCase(java.util.Locale.ROOT));
        }
    }

    private record Answer(int status, String body, Map<String, String> headers, long delayMillis) {
    }

    private final HttpServer server;
    private final java.util.concurrent.ExecutorService executor =
            java.util.concurrent.Executors.newCachedThreadPool(r -> Thread.ofPlatform().daemon().unstarted(r));
    private final Map<String, Answer> answers = new ConcurrentHashMap<>();
    private final List<Request> requests = new CopyOnWriteArrayList<>();

    public FakeNode() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        // answers may be delayed: others are served meanwhile, as a node does (a CLI polls while it invokes)
        server.setExecutor(executor);
        server.start();
    }

    public URI uri() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    public FakeNode answer(String method, String path, int status, String body) {
        return answer(method, path, status, body, Map.of());
    }

    public FakeNode answer(String method, String path, int status, String body, Map<String, String> headers) {
        return answer(method, path, status, body, headers, java.time.Duration.ZERO);
    }

    /** Answers only after {@code delay}, as a slow invocation (a cold start) would. */
    public FakeNode answer(String method, String path, int status, String body, Map<String, String> headers,
                           java.time.Duration delay) {
        answers.put(method + " " + path, new Answer(status, body, headers, delay.toMillis()));
        return this;
    }

    public List<Request> requests() {
        return requests;
    }

    public Request last() {
        return requests.getLast();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            URI uri = exchange.getRequestURI();
            Map<String, String> headers = new java.util.HashMap<>();
            exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(java.util.Locale.ROOT), v.getFirst()));
            requests.add(new Request(exchange.getRequestMethod(), uri.getRawPath(), uri.getRawQuery(),
                    exchange.getRequestHeaders().getFirst("Content-Type"), exchange.getRequestBody().readAllBytes(),
                    Map.copyOf(headers)));
            Answer answer = answers.getOrDefault(exchange.getRequestMethod() + " " + uri.getRawPath(),
                    new Answer(404, "{\"errorType\":\"FunctionNotFound\",\"errorMessage\":\"no route in fake\"}", Map.of(), 0));
            if (answer.delayMillis() > 0) {
                try {
                    Thread.sleep(answer.delayMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            answer.headers().forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
            byte[] body = answer.body().getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(answer.status(), body.length == 0 ? -1 : body.length);
            exchange.getResponseBody().write(body);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
