package dev.thaw.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The runtime's HTTP client against a real HTTP server: prefixes, bodies, chunking, reconnects. */
class RuntimeHttpTest {
    private HttpServer server;
    private final AtomicInteger connections = new AtomicInteger();

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/i/abc/fixed", ex -> {
            byte[] body = ("got " + ex.getRequestMethod() + " " + new String(ex.getRequestBody().readAllBytes(),
                    StandardCharsets.UTF_8) + " " + ex.getRequestHeaders().getFirst("X-Test")).getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Lambda-Runtime-Aws-Request-Id", "r-1");
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.createContext("/i/abc/chunked", ex -> {
            ex.sendResponseHeaders(202, 0); // length 0 means chunked
            ex.getResponseBody().write("part1-".getBytes(StandardCharsets.UTF_8));
            ex.getResponseBody().flush();
            ex.getResponseBody().write("part2".getBytes(StandardCharsets.UTF_8));
            ex.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    @Test
    void getAndPostThroughThePathPrefixOnOneConnection() throws Exception {
        try (RuntimeHttp http = new RuntimeHttp("127.0.0.1:" + server.getAddress().getPort() + "/i/abc")) {
            RuntimeHttp.Response get = http.get("/fixed");
            assertThat(get.status()).isEqualTo(200);
            assertThat(get.header("lambda-runtime-aws-request-id")).isEqualTo("r-1");
            RuntimeHttp.Response post = http.post("/fixed", "{\"a\":1}".getBytes(StandardCharsets.UTF_8), Map.of("X-Test", "yes"));
            assertThat(new String(post.body(), StandardCharsets.UTF_8)).isEqualTo("got POST {\"a\":1} yes");
            RuntimeHttp.Response chunked = http.get("/chunked");
            assertThat(chunked.status()).isEqualTo(202);
            assertThat(new String(chunked.body(), StandardCharsets.UTF_8)).isEqualTo("part1-part2");
        }
    }

    @Test
    void reconnectsWhenTheServerDroppedAnIdleConnection() throws Exception {
        try (RuntimeHttp http = new RuntimeHttp("127.0.0.1:" + server.getAddress().getPort() + "/i/abc")) {
            assertThat(http.get("/fixed").status()).isEqualTo(200);
            int port = server.getAddress().getPort();
            server.stop(0);
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
            server.createContext("/i/abc/fixed", ex -> {
                ex.sendResponseHeaders(200, 2);
                ex.getResponseBody().write("ok".getBytes(StandardCharsets.UTF_8));
                ex.close();
            });
            server.start();
            assertThat(new String(http.get("/fixed").body(), StandardCharsets.UTF_8)).isEqualTo("ok");
        }
    }
}
