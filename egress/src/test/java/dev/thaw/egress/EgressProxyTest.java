package dev.thaw.egress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadFactory;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The proxy on real sockets: a listener standing for the instance's, a local server standing for the outside. */
class EgressProxyTest {
    private final List<Thread> started = new CopyOnWriteArrayList<>();
    private final ThreadFactory recording = r -> {
        Thread t = Thread.ofVirtual().name("egress-test").unstarted(r);
        started.add(t);
        return t;
    };
    private final List<String> events = new CopyOnWriteArrayList<>();
    private final EgressProxy.Observer observer = new EgressProxy.Observer() {
        @Override
        public void allowed(String target) {
            events.add("allowed " + target);
        }

        @Override
        public void denied(String target, String message) {
            events.add("denied " + target + ": " + message);
        }

        @Override
        public void overLimit(String message) {
            events.add("over limit: " + message);
        }
    };
    private final List<AutoCloseable> cleanup = new ArrayList<>();
    private ServerSocket upstream;
    private int upstreamPort;

    @BeforeEach
    void upstream() throws IOException {
        upstream = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        upstream.setSoTimeout(5_000);
        upstreamPort = upstream.getLocalPort();
        cleanup.add(upstream);
    }

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : cleanup.reversed()) {
            c.close();
        }
    }

    /** @return a proxy on a fresh listener, and its port */
    private int proxy(EgressProxy.Settings settings, String... patterns) throws IOException {
        EgressProxy p = proxyObject(settings, patterns);
        return port(p);
    }

    private final java.util.Map<EgressProxy, Integer> ports = new java.util.HashMap<>();

    private int port(EgressProxy p) {
        return ports.get(p);
    }

    private EgressProxy proxyObject(EgressProxy.Settings settings, String... patterns) throws IOException {
        ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.INET)
                .bind(new InetSocketAddress("127.0.0.1", 0));
        int port = ((InetSocketAddress) listener.getLocalAddress()).getPort();
        // names resolve without DNS: localhost is 127.0.0.1, nothing else resolves
        FakeNetwork network = new FakeNetwork().name("localhost", "127.0.0.1");
        EgressProxy p = EgressProxy.serve(listener, EgressPolicy.allow(List.of(patterns), network), settings, observer);
        cleanup.add(p);
        ports.put(p, port);
        return p;
    }

    private EgressProxy.Settings settings() {
        return EgressProxy.Settings.of("fn").withThreads(recording);
    }

    private Socket client(int proxyPort) throws IOException {
        Socket s = new Socket("127.0.0.1", proxyPort);
        s.setSoTimeout(5_000);
        cleanup.add(s);
        return s;
    }

    private static void send(Socket s, String text) throws IOException {
        OutputStream o = s.getOutputStream();
        o.write(text.getBytes(StandardCharsets.ISO_8859_1));
        o.flush();
    }

    /** @return the bytes up to and with the first blank line */
    private static String head(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        while (!b.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                break;
            }
            b.append((char) c);
        }
        return b.toString();
    }

    private static String readN(InputStream in, int n) throws IOException {
        return new String(in.readNBytes(n), StandardCharsets.ISO_8859_1);
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void connectToAnAllowedTargetRelaysBytesBothWays() throws Exception {
        int port = proxy(settings(), "127.0.0.1:" + upstreamPort);
        Socket c = client(port);
        send(c, "CONNECT 127.0.0.1:" + upstreamPort + " HTTP/1.1\r\nHost: 127.0.0.1:" + upstreamPort + "\r\n\r\nearly");
        assertThat(head(c.getInputStream())).startsWith("HTTP/1.1 200 ");
        try (Socket server = upstream.accept()) {
            server.setSoTimeout(5_000);
            assertThat(readN(server.getInputStream(), 5)).as("bytes sent right after the head").isEqualTo("early");
            send(c, "ping");
            assertThat(readN(server.getInputStream(), 4)).isEqualTo("ping");
            send(server, "pong");
            assertThat(readN(c.getInputStream(), 4)).isEqualTo("pong");
            c.shutdownOutput(); // the client's end half-closes the server's side; the server may still answer
            assertThat(server.getInputStream().read()).isEqualTo(-1);
            send(server, "last");
            assertThat(readN(c.getInputStream(), 4)).isEqualTo("last");
        }
        assertThat(c.getInputStream().read()).as("the server's end ends the connection").isEqualTo(-1);
        assertThat(events).containsExactly("allowed 127.0.0.1:" + upstreamPort);
    }

    @Test
    void aDeniedTargetIsAnswered403NamingTargetFunctionAndSettingAndNeverConnected() throws Exception {
        int port = proxy(settings(), "*");
        Socket c = client(port);
        send(c, "CONNECT localhost:" + upstreamPort + " HTTP/1.1\r\n\r\n");
        String answer = new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String message = "egress to localhost:" + upstreamPort + " is not allowed for function fn (thaw up --egress-allow): ";
        assertThat(answer).startsWith("HTTP/1.1 403 Forbidden\r\n").contains(message).contains("a loopback address");
        assertThat(events).hasSize(1).first().asString().startsWith("denied localhost:" + upstreamPort + ": " + message);
        upstream.setSoTimeout(200);
        assertThatThrownBy(upstream::accept).isInstanceOf(SocketTimeoutException.class);
    }

    @Test
    void aDeniedRequestWithABodyStillGetsItsAnswer() throws Exception {
        int port = proxy(settings(), "example.invalid:80");
        Socket c = client(port);
        byte[] body = new byte[200_000];
        send(c, "POST http://127.0.0.1:" + upstreamPort + "/x HTTP/1.1\r\nContent-Length: " + body.length + "\r\n\r\n");
        c.getOutputStream().write(body);
        String answer = new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(answer).startsWith("HTTP/1.1 403 ").contains("it matches no pattern of the allow list");
    }

    @Test
    void anAbsoluteUriRequestIsForwardedInOriginFormWithTheAnswerClosingTheConnection() throws Exception {
        upstream.close();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            String seen = exchange.getRequestMethod() + " " + exchange.getRequestURI() + " host=" + exchange.getRequestHeaders()
                    .getFirst("Host") + " proxy-connection=" + exchange.getRequestHeaders().getFirst("Proxy-Connection")
                    + " body=" + new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            byte[] b = seen.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Keep-Alive", "timeout=5");
            exchange.sendResponseHeaders(200, b.length);
            exchange.getResponseBody().write(b);
            exchange.close();
        });
        server.start();
        cleanup.add(() -> server.stop(0));
        int sport = server.getAddress().getPort();
        int port = proxy(settings(), "127.0.0.1:" + sport);

        Socket c = client(port);
        send(c, "POST http://127.0.0.1:" + sport + "/echo?q=1 HTTP/1.1\r\nHost: elsewhere.example\r\nProxy-Connection: keep-alive"
                + "\r\nContent-Length: 5\r\n\r\nhello");
        String head = head(c.getInputStream());
        assertThat(head).startsWith("HTTP/1.1 200 ").containsIgnoringCase("Connection: close").doesNotContain("Keep-Alive");
        String body = new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(body).isEqualTo("POST /echo?q=1 host=127.0.0.1:" + sport + " proxy-connection=null body=hello");

        try (HttpClient http = HttpClient.newBuilder().proxy(ProxySelector.of(new InetSocketAddress("127.0.0.1", port)))
                .build()) {
            for (int i = 0; i < 3; i++) { // one request per connection: the client opens the next one itself
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sport + "/n" + i))
                        .build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).startsWith("GET /n" + i + " host=127.0.0.1:" + sport);
            }
        }
        assertThat(events).hasSize(4).allMatch(e -> e.equals("allowed 127.0.0.1:" + sport));
    }

    @Test
    void requestsThatAreNotProxyRequestsAreAnswered400() throws Exception {
        int port = proxy(settings(), "*");
        for (String[] bad : new String[][] {
            {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "it takes CONNECT host:port or an absolute http:// URL"},
            {"GET https://example.com/ HTTP/1.1\r\n\r\n", "goes through the proxy as CONNECT host:443"},
            {"CONNECT example.com HTTP/1.1\r\n\r\n", "CONNECT needs host:port"},
            {"CONNECT example.com:99999 HTTP/1.1\r\n\r\n", "the port '99999' is not 1-65535"},
            {"GET http://user@example.com/ HTTP/1.1\r\n\r\n", "user information"},
            {"CONNECT exa%mple.com:443 HTTP/1.1\r\n\r\n", "is neither a host name nor an IP address"},
            {"garbage\r\n\r\n", "a malformed request line"}}) {
            Socket c = client(port);
            send(c, bad[0]);
            assertThat(new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).as(bad[0])
                    .startsWith("HTTP/1.1 400 Bad Request").contains(bad[1]);
        }
        assertThat(events).isEmpty();
    }

    @Test
    void anAllowedTargetThatRefusesOrCannotBeResolvedIsAnswered502() throws Exception {
        upstream.close();
        int port = proxy(settings(), "127.0.0.1:" + upstreamPort, "nowhere.invalid:80");
        Socket c = client(port);
        send(c, "CONNECT 127.0.0.1:" + upstreamPort + " HTTP/1.1\r\n\r\n");
        assertThat(new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).startsWith("HTTP/1.1 502 ")
                .contains("egress to 127.0.0.1:" + upstreamPort + ": cannot connect to 127.0.0.1");
        Socket d = client(port);
        send(d, "GET http://nowhere.invalid/ HTTP/1.1\r\n\r\n");
        assertThat(new String(d.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).startsWith("HTTP/1.1 502 ")
                .contains("egress to nowhere.invalid:80: cannot resolve nowhere.invalid");
    }

    @Test
    void connectionsBeyondTheLimitAreRefused503UntilOneCloses() throws Exception {
        EgressProxy p = proxyObject(settings().withMaxConnections(2), "*");
        int port = port(p);
        Socket a = client(port);
        Socket b = client(port);
        await(() -> p.openConnections() == 2, "two connections admitted");
        Socket third = client(port);
        assertThat(new String(third.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                .startsWith("HTTP/1.1 503 Service Unavailable").contains("2 proxied connections are open, the most one"
                        + " instance may hold");
        assertThat(events).containsExactly("over limit: egress proxy of function fn: 2 proxied connections are open, the most"
                + " one instance may hold; this one is refused");
        a.close();
        await(() -> p.openConnections() == 1, "the closed connection released");
        Socket fourth = client(port);
        send(fourth, "CONNECT 127.0.0.1:" + upstreamPort + " HTTP/1.1\r\n\r\n");
        assertThat(head(fourth.getInputStream())).startsWith("HTTP/1.1 403 ");
        b.close();
    }

    @Test
    void aClientThatSendsNoRequestIsDroppedAfterTheRequestTimeout() throws Exception {
        EgressProxy p = proxyObject(settings().withTimeouts(Duration.ofSeconds(1), Duration.ofMillis(300)), "*");
        Socket c = client(port(p));
        assertThat(new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).startsWith("HTTP/1.1 400 ")
                .contains("no complete request within");
        await(() -> p.openConnections() == 0, "the connection released");
    }

    @Test
    void closeEndsTheListenerEveryRelayAndEveryThread() throws Exception {
        EgressProxy p = proxyObject(settings(), "127.0.0.1:" + upstreamPort);
        int port = port(p);
        Socket tunnel = client(port);
        send(tunnel, "CONNECT 127.0.0.1:" + upstreamPort + " HTTP/1.1\r\n\r\n");
        assertThat(head(tunnel.getInputStream())).startsWith("HTTP/1.1 200 ");
        Socket server = upstream.accept();
        cleanup.add(server);
        server.setSoTimeout(5_000);
        Socket idle = client(port);
        // a connection counts as open from its admission, a moment before its thread is spawned
        await(() -> p.openConnections() == 2 && started.size() >= 4, "both connections open and served");

        p.close();
        assertThat(p.openConnections()).isZero();
        assertThat(tunnel.getInputStream().read()).as("the client's side closed").isEqualTo(-1);
        assertThat(idle.getInputStream().read()).isEqualTo(-1);
        assertThat(server.getInputStream().read()).as("the server's side closed").isEqualTo(-1);
        assertThat(started).hasSizeGreaterThanOrEqualTo(4).noneMatch(Thread::isAlive);
        assertThatThrownBy(() -> new Socket("127.0.0.1", port).close()).isInstanceOf(ConnectException.class);
        p.close(); // idempotent
    }
}
