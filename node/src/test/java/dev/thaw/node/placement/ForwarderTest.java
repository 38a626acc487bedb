package dev.thaw.node.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The forwarder against a tiny HTTP server of the test's own, over real sockets. */
class ForwarderTest {
    private final AtomicInteger connections = new AtomicInteger();
    private ServerSocket server;
    private final Forwarder forwarder = new Forwarder(5_000);

    /** Serves requests: the answer's body echoes the request line; "close" closes after answering; "die" drops it. */
    private URI serve(boolean chunked) throws IOException {
        server = new ServerSocket(0);
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    connections.incrementAndGet();
                    Thread.ofVirtual().start(() -> handle(s, chunked));
                } catch (IOException e) {
                    return;
                }
            }
        });
        return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    private static void handle(Socket s, boolean chunked) {
        try (s; BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8))) {
            OutputStream out = s.getOutputStream();
            for (String line; (line = in.readLine()) != null; ) {
                String requestLine = line;
                int length = 0;
                for (String h; !(h = in.readLine()).isEmpty(); ) {
                    if (h.toLowerCase().startsWith("content-length:")) {
                        length = Integer.parseInt(h.substring(15).strip());
                    }
                }
                char[] body = new char[length];
                in.read(body, 0, length);
                if (requestLine.contains("die")) {
                    return;
                }
                String answer = requestLine + "|" + new String(body);
                String head = "HTTP/1.1 201 Created\r\nX-Thaw-Start: warm\r\n"
                        + (requestLine.contains("close") ? "Connection: close\r\n" : "");
                if (chunked) {
                    out.write((head + "Transfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(answer.length()) + "\r\n"
                            + answer + "\r\n0\r\n\r\n").getBytes(StandardCharsets.UTF_8));
                } else {
                    out.write((head + "Content-Length: " + answer.length() + "\r\n\r\n" + answer).getBytes(StandardCharsets.UTF_8));
                }
                out.flush();
                if (requestLine.contains("close")) {
                    return;
                }
            }
        } catch (IOException e) {
            // the test closed it
        }
    }

    @AfterEach
    void stop() throws IOException {
        forwarder.close();
        if (server != null) {
            server.close();
        }
    }

    @Test
    void answersComeBackVerbatimOverOneKeptAliveConnection() throws Exception {
        URI node = serve(false);
        for (int i = 0; i < 20; i++) {
            Forwarder.Answer a = forwarder.send(node, "POST", "/functions/f/invoke", List.of(Map.entry("X-A", "1")),
                    ("body" + i).getBytes(StandardCharsets.UTF_8));
            assertThat(a.status()).isEqualTo(201);
            assertThat(new String(a.body(), StandardCharsets.UTF_8)).isEqualTo("POST /functions/f/invoke HTTP/1.1|body" + i);
            assertThat(a.headers()).contains(Map.entry("X-Thaw-Start", "warm"));
        }
        assertThat(connections.get()).isEqualTo(1);
    }

    @Test
    void chunkedAnswersAreReadWhole() throws Exception {
        URI node = serve(true);
        Forwarder.Answer a = forwarder.send(node, "GET", "/x", List.of(), new byte[0]);
        assertThat(new String(a.body(), StandardCharsets.UTF_8)).isEqualTo("GET /x HTTP/1.1|");
    }

    @Test
    void aConnectionTheRemoteClosedIsReplacedWithoutSendingTwice() throws Exception {
        URI node = serve(false);
        forwarder.send(node, "GET", "/close", List.of(), new byte[0]); // the remote closes after this answer
        Forwarder.Answer a = forwarder.send(node, "GET", "/again", List.of(), new byte[0]);
        assertThat(new String(a.body(), StandardCharsets.UTF_8)).startsWith("GET /again");
        assertThat(connections.get()).isEqualTo(2);
    }

    @Test
    void aNodeThatDropsTheRequestIsReportedAsReachedAndNotRetried() throws Exception {
        URI node = serve(false);
        assertThatThrownBy(() -> forwarder.send(node, "POST", "/die", List.of(), new byte[0]))
                .isInstanceOfSatisfying(Forwarder.NodeUnreachable.class, e -> assertThat(e.requestSent()).isTrue())
                .hasMessageContaining("stopped answering while it had the request");
        assertThat(connections.get()).isEqualTo(1);
    }

    @Test
    void anUnreachableNodeIsReportedAsNotReached() throws Exception {
        ServerSocket s = new ServerSocket(0);
        int port = s.getLocalPort();
        s.close();
        assertThatThrownBy(() -> forwarder.send(URI.create("http://127.0.0.1:" + port), "GET", "/", List.of(), new byte[0]))
                .isInstanceOfSatisfying(Forwarder.NodeUnreachable.class, e -> assertThat(e.requestSent()).isFalse())
                .hasMessageContaining("cannot be reached");
    }
}
