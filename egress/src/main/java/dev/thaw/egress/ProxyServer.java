package dev.thaw.egress;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/*
 * One instance's egress proxy. A thread accepts on the listener (inside the instance's network
 * namespace); each admitted connection gets a thread that reads the request head, asks the policy,
 * connects to the address the policy resolved (from the node's namespace: the socket is made here,
 * not in the instance's) and then relays the server's bytes to the client, while a second thread
 * relays the client's bytes to the server. Sockets are blocking, threads virtual by default: a
 * blocking socket read unmounts a virtual thread, so a thousand idle relays cost no carrier.
 *
 * CONNECT answers 200 and relays bytes both ways untouched. An absolute-URI request is rewritten
 * to origin form (the path), its Host set to the URI's authority, hop-by-hop fields dropped and
 * "Connection: close" added; the server's answer head is rewritten the same way, so the client
 * knows the connection ends with the answer: one request per connection. A client's end of stream
 * half-closes the server side (the server may still answer); the server's end of stream, or any
 * failure, ends the connection.
 *
 * Every connection counts against maxConnections from accept to close; one beyond is answered 503
 * at once, without reading it. close() closes the listener and both sockets of every connection,
 * which ends every thread blocked on them, and joins the threads.
 */
/** One instance's egress proxy (see the comment above). */
final class ProxyServer implements EgressProxy {
    private static final System.Logger LOG = System.getLogger("dev.thaw.egress");
    private static final int MAX_REQUEST_HEAD = 16 * 1024;
    private static final int MAX_RESPONSE_HEAD = 64 * 1024;
    private static final long JOIN_MILLIS = 2_000;
    private static final int DRAIN_MILLIS = 1_000;
    private static final long DRAIN_BYTES = 1 << 20;

    private final ServerSocketChannel listener;
    private final EgressPolicy policy;
    private final Settings settings;
    private final Observer observer;
    private final Set<Connection> open = ConcurrentHashMap.newKeySet();
    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
    private boolean closed;

    private ProxyServer(ServerSocketChannel listener, EgressPolicy policy, Settings settings, Observer observer) {
        this.listener = listener;
        this.policy = policy;
        this.settings = settings;
        this.observer = observer;
    }

    static ProxyServer start(ServerSocketChannel listener, EgressPolicy policy, Settings settings, Observer observer) {
        ProxyServer server = new ProxyServer(java.util.Objects.requireNonNull(listener, "listener"),
                java.util.Objects.requireNonNull(policy, "policy"), java.util.Objects.requireNonNull(settings, "settings"),
                java.util.Objects.requireNonNull(observer, "observer"));
        if (!server.spawn(server::acceptLoop)) {
            throw new IllegalStateException("the egress proxy of " + settings.function() + " could not start");
        }
        return server;
    }

    @Override
    public int openConnections() {
        return open.size();
    }

    private void acceptLoop() {
        while (true) {
            SocketChannel c;
            try {
                c = listener.accept();
            } catch (IOException e) {
                if (!isClosed()) {
                    LOG.log(System.Logger.Level.WARNING, "egress proxy of " + settings.function() + ": accept failed, the"
                            + " proxy stops: " + e.getMessage());
                }
                return;
            }
            Connection conn = new Connection(c);
            if (!admit(conn)) {
                refuseOverLimit(c);
            } else if (!spawn(conn::serve)) {
                conn.close();
            }
        }
    }

    private synchronized boolean isClosed() {
        return closed;
    }

    private synchronized boolean admit(Connection conn) {
        if (closed || open.size() >= settings.maxConnections()) {
            return false;
        }
        open.add(conn);
        return true;
    }

    /** Runs {@code task} on a thread of the settings' factory, unless the proxy is closed. */
    private synchronized boolean spawn(Runnable task) {
        if (closed) {
            return false;
        }
        Thread[] self = new Thread[1];
        self[0] = settings.threads().newThread(() -> {
            try {
                task.run();
            } finally {
                threads.remove(self[0]);
            }
        });
        threads.add(self[0]);
        self[0].start();
        return true;
    }

    private void refuseOverLimit(SocketChannel c) {
        String message = "egress proxy of function " + settings.function() + ": " + settings.maxConnections()
                + " proxied connections are open, the most one instance may hold; this one is refused";
        try (c) {
            if (!isClosed()) {
                observer.overLimit(message);
                // a few hundred bytes into a fresh socket's send buffer: this write does not block
                c.write(ByteBuffer.wrap(response(503, "Service Unavailable", message)));
            }
        } catch (IOException e) {
            // the client went away
        }
    }

    @Override
    public void close() {
        List<Connection> conns;
        List<Thread> running;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            conns = new ArrayList<>(open);
            running = new ArrayList<>(threads);
        }
        quietly(listener);
        conns.forEach(Connection::close);
        long deadline = System.currentTimeMillis() + JOIN_MILLIS;
        for (Thread t : running) {
            try {
                t.join(Math.max(1, deadline - System.currentTimeMillis()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static void quietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            // closing: nothing to report
        }
    }

    /** @return a complete answer of the proxy's own, whose connection ends after it */
    static byte[] response(int status, String reason, String body) {
        byte[] b = (body + "\n").getBytes(StandardCharsets.UTF_8);
        byte[] head = Head.encode("HTTP/1.1 " + status + " " + reason, List.of(
                new Head.Field("Content-Type", "text/plain; charset=utf-8"),
                new Head.Field("Content-Length", Integer.toString(b.length)),
                new Head.Field("Connection", "close")));
        byte[] all = java.util.Arrays.copyOf(head, head.length + b.length);
        System.arraycopy(b, 0, all, head.length, b.length);
        return all;
    }

    private static String reason(int status) {
        return switch (status) {
            case 400 -> "Bad Request";
            case 403 -> "Forbidden";
            case 431 -> "Request Header Fields Too Large";
            case 502 -> "Bad Gateway";
            case 504 -> "Gateway Timeout";
            default -> "Error";
        };
    }

    /** One proxied connection: the client's socket, and the server's once connected. */
    private final class Connection {
        private final SocketChannel client;
        private volatile Socket upstream;

        Connection(SocketChannel client) {
            this.client = client;
        }

        void serve() {
            try {
                Socket clientSocket = client.socket();
                InputStream in = new BufferedInputStream(clientSocket.getInputStream(), 16 * 1024);
                OutputStream out = clientSocket.getOutputStream();
                try {
                    relay(clientSocket, in, out);
                } catch (ProxyError e) {
                    out.write(response(e.status, reason(e.status), e.getMessage()));
                    out.flush();
                    drain(clientSocket, in);
                }
            } catch (IOException e) {
                // a side went away or the proxy closed: the connection ends either way
            } finally {
                close();
            }
        }

        private void relay(Socket clientSocket, InputStream in, OutputStream out) throws IOException, ProxyError {
            clientSocket.setSoTimeout((int) settings.requestTimeout().toMillis());
            Head request;
            try {
                request = Head.read(in, MAX_REQUEST_HEAD, 400);
            } catch (SocketTimeoutException e) {
                throw new ProxyError(400, "no complete request within " + settings.requestTimeout().toSeconds() + " s");
            }
            if (request == null) {
                return;
            }
            String[] parts = request.parts();
            if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) {
                throw new ProxyError(400, "a malformed request line '" + Target.shorten(request.startLine()) + "'");
            }
            boolean tunnel = parts[0].equals("CONNECT");
            Target target = tunnel ? Target.connect(parts[1]) : Target.absolute(parts[1]);
            Socket server = connect(target);
            clientSocket.setSoTimeout(0);
            if (tunnel) {
                out.write("HTTP/1.1 200 Connection Established\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
            } else {
                List<Head.Field> fields = new ArrayList<>(request.endToEnd().stream().filter(f -> !f.is("host")).toList());
                fields.addFirst(new Head.Field("Host", target.authority()));
                fields.add(new Head.Field("Connection", "close"));
                server.getOutputStream().write(Head.encode(parts[0] + " " + target.path() + " " + parts[2], fields));
            }
            if (!spawn(() -> pump(in, server))) {
                return;
            }
            InputStream fromServer = server.getInputStream();
            if (!tunnel) {
                answerHead(fromServer, out);
            }
            fromServer.transferTo(out);
            out.flush();
        }

        /**
         * Half-closes the client's side after an answer of the proxy's own and reads what the client
         * still sends (a request body, briefly): closing with unread bytes would reset the connection,
         * and the client could lose the answer.
         */
        private void drain(Socket clientSocket, InputStream in) throws IOException {
            clientSocket.shutdownOutput();
            clientSocket.setSoTimeout(DRAIN_MILLIS);
            byte[] buffer = new byte[8192];
            long left = DRAIN_BYTES;
            try {
                for (int n; left > 0 && (n = in.read(buffer)) >= 0; ) {
                    left -= n;
                }
            } catch (SocketTimeoutException e) {
                // enough waiting
            }
        }

        /** Asks the policy, then connects to the address it resolved. */
        private Socket connect(Target target) throws IOException, ProxyError {
            EgressDecision d;
            try {
                d = policy.decide(target.host(), target.port());
            } catch (IllegalArgumentException e) {
                throw new ProxyError(400, e.getMessage());
            }
            if (d.verdict() == EgressDecision.Verdict.DENIED) {
                String message = "egress to " + d.target() + " is not allowed for function " + settings.function()
                        + " (thaw up --egress-allow): " + d.reason();
                observer.denied(d.target(), message);
                throw new ProxyError(403, message);
            }
            observer.allowed(d.target());
            if (d.verdict() == EgressDecision.Verdict.UNRESOLVED) {
                throw new ProxyError(502, "egress to " + d.target() + ": " + d.reason());
            }
            InetSocketAddress address = d.address().orElseThrow();
            Socket s = new Socket(Proxy.NO_PROXY);
            upstream = s;
            if (isClosed()) {
                throw new IOException("the proxy closed");
            }
            try {
                s.connect(address, (int) settings.connectTimeout().toMillis());
            } catch (SocketTimeoutException e) {
                throw new ProxyError(504, "egress to " + d.target() + ": " + address.getAddress().getHostAddress()
                        + " did not accept within " + settings.connectTimeout().toSeconds() + " s");
            } catch (IOException e) {
                if (isClosed()) {
                    throw e;
                }
                throw new ProxyError(502, "egress to " + d.target() + ": cannot connect to " + address.getAddress()
                        .getHostAddress() + ": " + e.getMessage());
            }
            s.setTcpNoDelay(true);
            return s;
        }

        /** Forwards the server's answer head (after any 1xx ones) with "Connection: close". */
        private void answerHead(InputStream fromServer, OutputStream out) throws IOException, ProxyError {
            while (true) {
                Head answer = Head.read(fromServer, MAX_RESPONSE_HEAD, 502);
                if (answer == null) {
                    throw new ProxyError(502, "the server closed the connection without an answer");
                }
                String[] parts = answer.parts();
                boolean interim = parts.length >= 2 && parts[1].length() == 3 && parts[1].startsWith("1")
                        && !parts[1].equals("101");
                if (interim) {
                    out.write(Head.encode(answer.startLine(), answer.fields()));
                    continue;
                }
                List<Head.Field> fields = new ArrayList<>(answer.endToEnd());
                fields.add(new Head.Field("Connection", "close"));
                out.write(Head.encode(answer.startLine(), fields));
                return;
            }
        }

        /** The client's bytes to the server; at the client's end of stream the server's side is half-closed. */
        private void pump(InputStream in, Socket server) {
            try {
                in.transferTo(server.getOutputStream());
                server.shutdownOutput();
            } catch (IOException e) {
                close(); // a broken side ends the connection
            }
        }

        void close() {
            quietly(client);
            quietly(upstream);
            open.remove(this);
        }
    }
}
