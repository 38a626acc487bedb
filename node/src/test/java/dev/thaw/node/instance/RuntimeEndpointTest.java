package dev.thaw.node.instance;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The Runtime API's own HTTP server, over real sockets: prefixes, keep-alive, bodies. */
class RuntimeEndpointTest {
    private final List<String> seen = new CopyOnWriteArrayList<>();
    private RuntimeEndpoint endpoint;
    private int port;

    @BeforeEach
    void start() throws IOException {
        RuntimeListeners.Listener l = RuntimeListeners.loopback().open("test");
        port = Integer.parseInt(l.address().substring(l.address().indexOf(':') + 1));
        endpoint = new RuntimeEndpoint(l.channel(), l.address(), "s3cret", (req, path) -> {
            seen.add(req.method() + " " + path + " " + new String(req.body(), StandardCharsets.UTF_8));
            return RuntimeEndpoint.Response.json(202, "{\"path\":\"" + path + "\"}");
        }, "test-instance");
    }

    @AfterEach
    void stop() {
        endpoint.close();
    }

    private static String exchange(Socket s, String request) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(request.getBytes(StandardCharsets.UTF_8));
        out.flush();
        InputStream in = s.getInputStream();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int c = in.read();
            if (c < 0) {
                break;
            }
            head.write(c);
            state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
        }
        String h = head.toString(StandardCharsets.UTF_8);
        int length = 0;
        for (String line : h.split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).strip());
            }
        }
        return h + new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }

    @Test
    void servesSeveralRequestsOnOneKeepAliveConnectionWithTheirBodies() throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            String a = exchange(s, "GET /s3cret/2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(a).startsWith("HTTP/1.1 202").contains("{\"path\":\"/2018-06-01/runtime/invocation/next\"}");
            String b = exchange(s, "POST /s3cret/2018-06-01/runtime/invocation/r1/response HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
            assertThat(b).startsWith("HTTP/1.1 202");
            String c = exchange(s, "POST /s3cret/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n");
            assertThat(c).startsWith("HTTP/1.1 202");
        }
        assertThat(seen).containsExactly("GET /2018-06-01/runtime/invocation/next ",
                "POST /2018-06-01/runtime/invocation/r1/response hello", "POST /x abcde");
    }

    @Test
    void aRequestWithoutTheSecretPrefixIsRefusedAndNeverHandled() throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            String r = exchange(s, "POST /guess/2018-06-01/runtime/invocation/r1/response HTTP/1.1\r\nContent-Length: 6\r\n\r\nforged");
            assertThat(r).startsWith("HTTP/1.1 403").contains("AWS_LAMBDA_RUNTIME_API prefix");
            String bare = exchange(s, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n");
            assertThat(bare).startsWith("HTTP/1.1 403");
        }
        assertThat(seen).isEmpty();
    }

    @Test
    void anotherAllowedSecretIsAccepted() throws IOException {
        endpoint.allow("clone-secret");
        try (Socket s = new Socket("127.0.0.1", port)) {
            assertThat(exchange(s, "GET /clone-secret/a HTTP/1.1\r\n\r\n")).startsWith("HTTP/1.1 202");
        }
        assertThat(endpoint.runtimeApi("s3cret")).isEqualTo("127.0.0.1:" + port + "/s3cret");
    }

    @Test
    void closingEndsConnectionsAndTheListener() throws Exception {
        Socket s = new Socket("127.0.0.1", port);
        exchange(s, "GET /s3cret/a HTTP/1.1\r\n\r\n");
        endpoint.close();
        s.setSoTimeout(5_000);
        assertThat(s.getInputStream().read()).isEqualTo(-1);
        s.close();
        try (Socket again = new Socket()) {
            again.connect(new java.net.InetSocketAddress("127.0.0.1", port), 1_000);
            throw new AssertionError("the listener still accepts");
        } catch (java.net.ConnectException e) {
            assertThat(e).hasMessageContaining("refused");
        }
    }

    @Test
    void parsesHeadersCaseInsensitively() throws IOException {
        var req = RuntimeEndpoint.read(new java.io.ByteArrayInputStream(
                "POST /p HTTP/1.1\r\nLambda-Runtime-Function-Error-Type: X\r\ncontent-length: 2\r\n\r\nok".getBytes(StandardCharsets.UTF_8)));
        assertThat(req.header("lambda-runtime-function-error-type")).hasValue("X");
        assertThat(req.headers()).containsEntry("content-length", "2");
        assertThat(new String(req.body(), StandardCharsets.UTF_8)).isEqualTo("ok");
        assertThat(Map.of()).isEmpty();
    }
}
