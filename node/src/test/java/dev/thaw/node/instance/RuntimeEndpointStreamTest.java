package dev.thaw.node.instance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.node.xdt.Http1;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Streamed routes: bodies far over the 7 MB bound pass through, and the connection carries on. */
class RuntimeEndpointStreamTest {
    private static final long BIG = 40L << 20;
    private final AtomicLong received = new AtomicLong();
    private RuntimeEndpoint endpoint;
    private int port;

    @BeforeEach
    void start() throws IOException {
        RuntimeListeners.Listener l = RuntimeListeners.loopback().open("test");
        port = Integer.parseInt(l.address().substring(l.address().indexOf(':') + 1));
        endpoint = new RuntimeEndpoint(l.channel(), l.address(), "s3cret", new RuntimeEndpoint.Handler() {
            @Override
            public RuntimeEndpoint.Response handle(RuntimeEndpoint.Request request, String path) {
                return RuntimeEndpoint.Response.json(202, "{\"whole\":" + request.body().length + "}");
            }

            @Override
            public RuntimeEndpoint.Streamed streamed(String method, String path) {
                if (path.equals("/up")) {
                    return ex -> {
                        byte[] buf = new byte[1 << 16];
                        long n = 0;
                        for (int r; (r = ex.body().read(buf)) >= 0; ) {
                            n += r;
                        }
                        received.set(n);
                        ex.respond(201, Map.of(), Long.toString(n).getBytes(StandardCharsets.US_ASCII));
                    };
                }
                if (path.equals("/down")) {
                    return ex -> {
                        ex.sendHead(200, Map.of(), BIG);
                        ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 20);
                        for (long sent = 0; sent < BIG; sent += chunk.capacity()) {
                            Http1.writeFully(ex.channel(), chunk.clear());
                        }
                    };
                }
                if (path.equals("/refuse-early")) {
                    return ex -> ex.respond(507, Map.of(), "full".getBytes(StandardCharsets.US_ASCII));
                }
                return null;
            }
        }, "test-instance");
    }

    @AfterEach
    void stop() {
        endpoint.close();
    }

    @Test
    void aChunkedBodyFarOverTheBoundStreamsThroughAndTheConnectionCarriesOn() throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            OutputStream out = s.getOutputStream();
            InputStream in = new BufferedInputStream(s.getInputStream());
            out.write("POST /s3cret/up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            byte[] chunk = new byte[1 << 20];
            for (long sent = 0; sent < BIG; sent += chunk.length) {
                out.write((Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(chunk);
                out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            Http1.Head head = Http1.readHead(in);
            assertThat(head.second()).isEqualTo("201");
            assertThat(new String(Http1.body(in, head).readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo(Long.toString(BIG));
            // the same connection: a plain route, then a streamed answer far over the bound
            out.write("POST /s3cret/plain HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc".getBytes(StandardCharsets.US_ASCII));
            head = Http1.readHead(in);
            assertThat(new String(Http1.body(in, head).readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("{\"whole\":3}");
            out.write("GET /s3cret/down HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            head = Http1.readHead(in);
            assertThat(head.contentLength()).isEqualTo(BIG);
            assertThat(Http1.body(in, head).transferTo(OutputStream.nullOutputStream())).isEqualTo(BIG);
        }
        assertThat(received.get()).isEqualTo(BIG);
    }

    @Test
    void aBodyTheHandlerDidNotReadIsDrainedSoTheNextRequestParses() throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            OutputStream out = s.getOutputStream();
            InputStream in = new BufferedInputStream(s.getInputStream());
            out.write("POST /s3cret/refuse-early HTTP/1.1\r\nContent-Length: 100000\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[100_000]);
            Http1.Head head = Http1.readHead(in);
            assertThat(head.second()).isEqualTo("507");
            Http1.body(in, head).readAllBytes();
            out.write("POST /s3cret/plain HTTP/1.1\r\nContent-Length: 1\r\n\r\nx".getBytes(StandardCharsets.US_ASCII));
            head = Http1.readHead(in);
            assertThat(new String(Http1.body(in, head).readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("{\"whole\":1}");
        }
    }

    @Test
    void aStreamedRouteWithoutTheSecretIsRefusedLikeAnyOther() throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.getOutputStream().write("POST /guess/up HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi".getBytes(StandardCharsets.US_ASCII));
            InputStream in = new BufferedInputStream(s.getInputStream());
            assertThat(Http1.readHead(in).second()).isEqualTo("403");
        }
        assertThat(received.get()).isZero();
    }
}
