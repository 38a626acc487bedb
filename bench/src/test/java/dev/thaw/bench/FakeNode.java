package dev.thaw.bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A thaw node in miniature on port 0: deploy, describe, evict, delete and invoke. An invocation after an
 * evict (or the first one) answers {@code restore}, later ones {@code warm}, with X-Thaw-* headers.
 */
final class FakeNode implements AutoCloseable {
    final HttpServer server;
    final List<String> calls = new CopyOnWriteArrayList<>();
    final Map<String, Boolean> hot = new ConcurrentHashMap<>();
    final AtomicInteger invocations = new AtomicInteger();
    final long serviceMillis;
    /** When set, the node is the front door ("n1") of a cluster with one more node, "n2", at the same address. */
    volatile boolean cluster;
    private final ExecutorService executor;

    /** @param serviceMillis how long each invocation sleeps; @param threads 0 for a thread per request */
    FakeNode(long serviceMillis, int threads) throws IOException {
        this.serviceMillis = serviceMillis;
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        executor = threads == 0 ? Executors.newVirtualThreadPerTaskExecutor() : Executors.newFixedThreadPool(threads);
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void handle(HttpExchange x) throws IOException {
        String method = x.getRequestMethod();
        String path = x.getRequestURI().getPath();
        byte[] body = x.getRequestBody().readAllBytes();
        String[] parts = path.split("/");
        calls.add(method + " " + path);
        try {
            if (path.equals("/healthz")) {
                send(x, 200, "{\"status\":\"ok\"}");
            } else if (cluster && method.equals("GET") && path.equals("/cluster/nodes")) {
                // every function invoked so far has an idle instance on n2
                StringBuilder idle = new StringBuilder();
                hot.keySet().forEach(f -> idle.append(idle.isEmpty() ? "" : ",").append("\"").append(f).append("@1\":1"));
                send(x, 200, "{\"self\":\"n1\",\"nodes\":[{\"id\":\"n1\",\"address\":\"" + url()
                        + "\",\"state\":\"active\",\"idle\":{}},{\"id\":\"n2\",\"address\":\"" + url()
                        + "/\",\"state\":\"active\",\"idle\":{" + idle + "}}]}");
            } else if (method.equals("PUT") && parts.length == 3) {
                hot.put(parts[2], false);
                send(x, 201, info(parts[2]));
            } else if (method.equals("GET") && parts.length == 3) {
                send(x, hot.containsKey(parts[2]) ? 200 : 404, hot.containsKey(parts[2]) ? info(parts[2])
                        : "{\"errorType\":\"FunctionNotFound\",\"errorMessage\":\"no\"}");
            } else if (method.equals("DELETE") && parts.length == 4 && parts[3].equals("instances")) {
                hot.put(parts[2], false);
                send(x, 200, "{\"evicted\":1}");
            } else if (method.equals("DELETE") && parts.length == 3) {
                hot.remove(parts[2]);
                send(x, 200, "{\"deleted\":\"" + parts[2] + "\",\"version\":1}");
            } else if (method.equals("POST") && parts.length == 4 && parts[3].equals("invoke")) {
                invocations.incrementAndGet();
                Thread.sleep(serviceMillis);
                boolean warm = Boolean.TRUE.equals(hot.put(parts[2], true));
                x.getResponseHeaders().add("X-Thaw-Start", warm ? "warm" : "restore");
                if (!warm) {
                    x.getResponseHeaders().add("X-Thaw-Restore-Ms", "3.5");
                }
                x.getResponseHeaders().add("X-Thaw-Duration-Ms", "0.25");
                send(x, 200, "{\"ok\":true,\"received\":" + body.length + "}");
            } else {
                send(x, 404, "{\"errorType\":\"InvalidRequest\",\"errorMessage\":\"" + method + " " + path + "\"}");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String info(String name) {
        return "{\"name\":\"" + name + "\",\"version\":1,\"handler\":\"h::h\",\"runtime\":\"java\",\"memoryMb\":256,"
                + "\"timeoutMs\":30000,\"environmentKeys\":[],\"maxInstances\":8,\"snapshotsEnabled\":true,"
                + "\"codeSha256\":\"x\",\"codeSizeBytes\":1,\"deployedAt\":\"2026-01-01T00:00:00Z\","
                + "\"snapshot\":{\"state\":\"ready\",\"restores\":0,\"restoreFailures\":0},"
                + "\"instances\":{\"starting\":0,\"idle\":0,\"busy\":0,\"queued\":0}}";
    }

    private static void send(HttpExchange x, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().add("Content-Type", "application/json");
        x.sendResponseHeaders(status, bytes.length);
        x.getResponseBody().write(bytes);
        x.close();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
