package dev.thaw.workloads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ChainTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** What the fake node received: the function named in the path, and the event. */
    record Call(String function, JsonNode event) {
    }

    /** How the fake node answers one invoke request. */
    @FunctionalInterface
    interface Responder {
        void respond(HttpExchange exchange, String function, byte[] body) throws Exception;
    }

    private final List<Call> calls = new CopyOnWriteArrayList<>();
    private HttpServer server;
    private String nodeUrl;
    private ExecutorService executor;

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
        if (executor != null) {
            executor.shutdownNow();
        }
    }

    private String start(Responder responder) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        // nested calls block their thread while the next level runs: one thread per request
        executor = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(executor);
        server.createContext("/functions/", exchange -> {
            try (exchange) {
                String path = exchange.getRequestURI().getPath();
                if (!"POST".equals(exchange.getRequestMethod()) || !path.endsWith("/invoke")) {
                    send(exchange, 404, "{\"errorType\":\"NotFound\",\"errorMessage\":\"" + path + "\"}");
                    return;
                }
                String function = path.substring("/functions/".length(), path.length() - "/invoke".length());
                byte[] body = exchange.getRequestBody().readAllBytes();
                calls.add(new Call(function, JSON.readTree(body)));
                responder.respond(exchange, function, body);
            } catch (Exception e) {
                send(exchange, 500, "{\"errorType\":\"Test\",\"errorMessage\":\"" + e + "\"}");
            }
        });
        server.start();
        nodeUrl = "http://127.0.0.1:" + server.getAddress().getPort();
        return nodeUrl;
    }

    private static void send(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** A fake node that runs the invoked function as the real one would: a Chain named as in the path. */
    private Responder runsChains(String next) {
        return (exchange, function, body) -> {
            Chain.Input event = JSON.readValue(body, Chain.Input.class);
            Chain.Output result = new Chain(nodeUrl, next).handle(event, new FakeContext(function));
            send(exchange, 200, JSON.writeValueAsString(result));
        };
    }

    private static long crc32(String text) {
        CRC32 crc = new CRC32();
        crc.update(text.getBytes(StandardCharsets.US_ASCII));
        return crc.getValue();
    }

    @Test
    void payloadsCanTravelThroughAnObjectStoreAndOnlyAReferenceCrossesTheNode() throws Exception {
        java.util.Map<String, byte[]> objects = new java.util.concurrent.ConcurrentHashMap<>();
        String url = start((exchange, function, body) -> {
            Chain.Input event = JSON.readValue(body, Chain.Input.class);
            Chain.Output result = new Chain(nodeUrl, "leaf", nodeUrl + "/bucket").handle(event, new FakeContext(function));
            send(exchange, 200, JSON.writeValueAsString(result));
        });
        server.createContext("/bucket/", exchange -> {
            try (exchange) {
                String key = exchange.getRequestURI().getPath();
                switch (exchange.getRequestMethod()) {
                    case "PUT" -> {
                        objects.put(key, exchange.getRequestBody().readAllBytes());
                        exchange.sendResponseHeaders(200, -1);
                    }
                    case "GET" -> {
                        byte[] b = objects.get(key);
                        exchange.sendResponseHeaders(200, b.length);
                        exchange.getResponseBody().write(b);
                    }
                    case "DELETE" -> {
                        objects.remove(key);
                        exchange.sendResponseHeaders(204, -1);
                    }
                    default -> exchange.sendResponseHeaders(405, -1);
                }
            }
        });
        int size = 7 << 20; // over the node's 6 MB invocation limit: only possible by reference
        Chain first = new Chain(url, "leaf", url + "/bucket");

        Chain.Output out = first.handle(new Chain.Input(1, size, null), new FakeContext("head"));

        assertThat(out.hops()).isEqualTo(1);
        assertThat(out.payloadBytesReceived()).isEqualTo(size);
        assertThat(out.checksum()).isEqualTo(crc32(Chain.payload(size)));
        assertThat(calls).singleElement().satisfies(c -> {
            assertThat(c.event().path("payload").isNull() || c.event().path("payload").isMissingNode()).isTrue();
            assertThat(c.event().path("payloadRef").asText()).startsWith(url + "/bucket/");
        });
        assertThat(objects).as("the receiver deletes what it read").isEmpty();
    }

    @Test
    void payloadIsDeterministicAsciiOfTheRequestedSize() {
        assertThat(Chain.payload(0)).isEmpty();
        assertThat(Chain.payload(5)).isEqualTo("ahov2");
        String payload = Chain.payload(10_000);
        assertThat(payload).hasSize(10_000).isEqualTo(Chain.payload(10_000));
        assertThat(payload.getBytes(StandardCharsets.UTF_8)).hasSize(10_000);
        assertThat(payload.chars().allMatch(c -> c >= '0' && c <= 'z')).isTrue();
        // not a short cycle: the first 36 characters do not repeat at offset 36
        assertThat(payload.substring(36, 72)).isNotEqualTo(payload.substring(0, 36));
    }

    @Test
    void checksumIsCrc32() {
        // the standard CRC-32 check value
        assertThat(Chain.crc32("123456789".getBytes(StandardCharsets.US_ASCII))).isEqualTo(0xCBF43926L);
        assertThat(Chain.crc32(new byte[0])).isZero();
    }

    @Test
    void theRememberedChecksumIsThePayloadsOwn() {
        for (int size : new int[] {0, 1, Chain.PERIOD + 5, 3 << 20}) {
            assertThat(Chain.expectedChecksum(size)).as("size %d", size)
                    .isEqualTo(Chain.crc32(Chain.payload(size).getBytes(StandardCharsets.US_ASCII)));
        }
        assertThat(Chain.expectedChecksum(7)).isNotEqualTo(Chain.expectedChecksum(8));
    }

    @Test
    void lastFunctionCallsNoOneAndReportsWhatItReceived() throws Exception {
        // an unreachable node: a call would fail
        Chain chain = new Chain("http://127.0.0.1:1", null);
        String payload = Chain.payload(300);

        Chain.Output out = chain.handle(new Chain.Input(0, 300, payload), new FakeContext("leaf"));

        assertThat(out).isEqualTo(new Chain.Output(0, 300, crc32(payload), List.of("leaf")));
        assertThat(chain.handle(new Chain.Input(0, 0, null), null))
                .isEqualTo(new Chain.Output(0, 0, 0, List.of(Chain.FALLBACK_NAME)));
    }

    @Test
    void callsTheNextFunctionThroughTheNode() throws Exception {
        String url = start(runsChains("next"));

        Chain.Output out = new Chain(url, "next").handle(new Chain.Input(2, 1000, null), new FakeContext("first"));

        assertThat(out.hops()).isEqualTo(2);
        assertThat(out.path()).containsExactly("first", "next", "next");
        assertThat(out.payloadBytesReceived()).isEqualTo(1000);
        assertThat(out.checksum()).isEqualTo(crc32(Chain.payload(1000)));
        assertThat(calls).extracting(Call::function).containsExactly("next", "next");
        assertThat(calls).extracting(c -> c.event().get("remaining").asInt()).containsExactly(1, 0);
        assertThat(calls).allSatisfy(c -> {
            assertThat(c.event().get("payloadBytes").asInt()).isEqualTo(1000);
            assertThat(c.event().get("payload").asText()).isEqualTo(Chain.payload(1000));
        });
    }

    @Test
    void callsItselfByDefault() throws Exception {
        String url = start(runsChains(null));

        Chain.Output out = new Chain(url + "/", " ").handle(new Chain.Input(1, 10, null), new FakeContext("self"));

        assertThat(out.path()).containsExactly("self", "self");
        assertThat(calls).extracting(Call::function).containsExactly("self");
    }

    @Test
    void failsWhenTheNextFunctionFails() throws Exception {
        String url = start((exchange, function, body) ->
                send(exchange, 502, "{\"errorType\":\"FunctionError\",\"errorMessage\":\"boom\"}"));

        assertThatThrownBy(() -> new Chain(url, "next").handle(new Chain.Input(1, 10, null), new FakeContext("first")))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("502")
                .hasMessageContaining("boom");
    }

    @Test
    void failsWhenThePayloadArrivedCorrupted() throws Exception {
        String url = start((exchange, function, body) -> send(exchange, 200,
                JSON.writeValueAsString(new Chain.Output(0, 10, 12345, List.of(function)))));

        assertThatThrownBy(() -> new Chain(url, "next").handle(new Chain.Input(1, 10, null), new FakeContext("first")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("CRC32 12345");
    }

    @Test
    void nodeUrlComesFromNodeUrlThenThawNodeUrl() {
        assertThat(Chain.nodeUrlFromEnvironment("http://a:1", "http://b:2")).isEqualTo("http://a:1");
        assertThat(Chain.nodeUrlFromEnvironment(" ", "http://b:2")).isEqualTo("http://b:2");
        assertThat(Chain.nodeUrlFromEnvironment(null, null)).isNull();
        assertThat(Chain.throughNode(null, "http://b:2")).as("in a thaw instance: the runtime's Functions").isTrue();
        assertThat(Chain.throughNode("http://a:1", "http://b:2")).as("the user's own address: HTTP").isFalse();
        assertThat(Chain.throughNode(null, null)).isFalse();
    }

    @Test
    void inAThawInstanceTheCallGoesThroughTheRuntimesFunctions() throws Exception {
        List<String> called = new java.util.ArrayList<>();
        dev.thaw.api.Functions functions = new dev.thaw.api.Functions() {
            @Override
            public byte[] invoke(String function, byte[] payload) {
                called.add(function);
                try {
                    Chain.Input event = JSON.readValue(payload, Chain.Input.class);
                    return JSON.writeValueAsBytes(new Chain(null, null).handle(event, new FakeContext(function)));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }

            @Override
            public String invokeEvent(String function, byte[] payload) {
                throw new UnsupportedOperationException();
            }
        };
        Chain.Output out = new Chain("http://127.0.0.1:1", "leaf", null, null, dev.thaw.api.Xdt::inMemory, functions)
                .handle(new Chain.Input(1, 500, null), new FakeContext("head"));
        assertThat(called).containsExactly("leaf");
        assertThat(out).isEqualTo(new Chain.Output(1, 500, crc32(Chain.payload(500)), List.of("head", "leaf")));
    }

    @Test
    void rejectsBadInput() {
        Chain chain = new Chain(null, null);
        assertThatThrownBy(() -> chain.handle(null, null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> chain.handle(new Chain.Input(-1, 0, null), null)).hasMessageContaining("remaining");
        assertThatThrownBy(() -> chain.handle(new Chain.Input(0, -5, null), null)).hasMessageContaining("payloadBytes");
    }

    @Test
    void payloadsCanTravelByXdtReferenceAndTheReferenceIsAllThatCrossesTheNode() throws Exception {
        dev.thaw.api.Xdt xdt = dev.thaw.api.Xdt.inMemory();
        String url = start((exchange, function, body) -> {
            Chain.Input event = JSON.readValue(body, Chain.Input.class);
            Chain.Output result = new Chain(nodeUrl, "leaf", null, "xdt", () -> xdt).handle(event, new FakeContext(function));
            send(exchange, 200, JSON.writeValueAsString(result));
        });
        int size = 20 << 20;
        Chain.Output out = new Chain(url, "leaf", null, "xdt", () -> xdt).handle(new Chain.Input(1, size, null),
                new FakeContext("head"));
        assertThat(out.payloadBytesReceived()).isEqualTo(size);
        assertThat(out.checksum()).isEqualTo(crc32(Chain.payload(size)));
        assertThat(calls).singleElement().satisfies(c -> {
            assertThat(c.event().path("payload").isNull() || c.event().path("payload").isMissingNode()).isTrue();
            assertThat(c.event().path("payloadRef").asText()).startsWith("mem.");
        });
    }

    @Test
    void theStreamedPayloadIsTheSameTextAsTheInlineOne() throws Exception {
        for (int n : new int[] {0, 1, 35, 36, 1295, 1296, 1297, 100_000, Chain.PERIOD * 64 + 5}) {
            assertThat(Chain.payloadStream(n).readAllBytes()).as("%d bytes", n)
                    .isEqualTo(Chain.payload(n).getBytes(StandardCharsets.US_ASCII));
        }
        java.io.InputStream oneByOne = Chain.payloadStream(3000);
        byte[] b = new byte[3000];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) oneByOne.read();
        }
        assertThat(oneByOne.read()).isEqualTo(-1);
        assertThat(b).isEqualTo(Chain.payload(3000).getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void anUnknownTransferIsRefusedAtInit() {
        assertThatThrownBy(() -> new Chain(null, null, null, "carrier-pigeon", dev.thaw.api.Xdt::inMemory))
                .hasMessageContaining("TRANSFER must be inline, store or xdt");
        assertThatThrownBy(() -> new Chain(null, null, null, "store", dev.thaw.api.Xdt::inMemory))
                .hasMessageContaining("needs TRANSFER_URL");
    }
}
