package dev.thaw.node.instance;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketException;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import dev.thaw.node.xdt.Http1;
import dev.thaw.node.xdt.SocketExchange;

/*
 * The Lambda Runtime API of one instance, on a listening socket of its own.
 *
 * Each instance gets its own endpoint: in a sandbox, a socket the node made inside the instance's
 * own network namespace (127.0.0.1:9001 there, which no other instance can reach); without one, a
 * loopback port of the node's. The endpoint knows which instance it serves, so nothing a runtime
 * sends can act on another instance; on top of that every request's path must start with the
 * instance's secret prefix (AWS_LAMBDA_RUNTIME_API is host:port/<secret>, which runtimes treat as
 * opaque), and one that does not is refused and logged. A clone gets a new secret in its resume
 * line; the secret it was snapshotted with stays valid on the clone's own endpoint, for runtimes
 * that read their address from the environment only.
 *
 * The protocol is a strict request-response loop with one client, so this is a small HTTP/1.1
 * server of its own rather than a general one: keep-alive connections, Content-Length or chunked
 * bodies, one virtual thread per connection (socket reads unmount it; `next` long-polls on it).
 * Bodies are read whole, up to a 6 MB response, except on streamed routes (thaw's transfers, of
 * any size, on connections of their own): their handler reads the body from the socket as it
 * arrives and writes its answer straight to the socket.
 */
/** One instance's Runtime API listener (see the comment above). */
final class RuntimeEndpoint implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("thaw.node");
    private static final int MAX_HEAD_BYTES = 64 * 1024;
    /** The largest body a runtime may post: a 6 MB response plus JSON framing. */
    static final int MAX_BODY_BYTES = 7 * 1024 * 1024;

    /** A parsed request. */
    record Request(String method, String path, Map<String, String> headers, byte[] body) {
        /** @return a header's value by its case-insensitive name */
        Optional<String> header(String name) {
            return Optional.ofNullable(headers.get(name.toLowerCase(Locale.ROOT)));
        }
    }

    /** An answer to write. */
    record Response(int status, Map<String, String> headers, byte[] body) {
        static Response json(int status, String body) {
            return new Response(status, Map.of("Content-Type", "application/json"), body.getBytes(StandardCharsets.UTF_8));
        }
    }

    /** What answers the requests that arrive with the right prefix. */
    interface Handler {
        /**
         * @param path the path after the secret prefix, e.g. {@code /2018-06-01/runtime/invocation/next}
         * @return the answer; may block (the {@code next} long poll)
         */
        Response handle(Request request, String path) throws InterruptedException;

        /**
         * @param path the path after the secret prefix
         * @return the handler of a route whose body and answer stream (thaw's transfers), or null
         *     for a route answered by {@link #handle} with the body read whole (bounded by
         *     {@link #MAX_BODY_BYTES})
         */
        default Streamed streamed(String method, String path) {
            return null;
        }
    }

    /** Answers a request whose body it reads itself and whose answer it writes itself. */
    interface Streamed {
        void handle(SocketExchange exchange) throws IOException, InterruptedException;
    }

    private final ServerSocketChannel listener;
    private final String address;
    private final Set<String> secrets = ConcurrentHashMap.newKeySet();
    private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
    private final Handler handler;
    private final String owner;
    private volatile boolean closed;
    /** Its accept loop: a channel closed while a thread is blocked in accept is released only when that thread returns. */
    private final Thread acceptor;

    /**
     * @param listener a bound, listening channel (in the instance's network namespace, or the node's)
     * @param address the {@code host:port} the instance reaches the listener at
     * @param secret the first secret prefix
     * @param owner names the instance in log lines
     */
    RuntimeEndpoint(ServerSocketChannel listener, String address, String secret, Handler handler, String owner) {
        this.listener = listener;
        this.address = address;
        this.handler = handler;
        this.owner = owner;
        this.secrets.add(secret);
        this.acceptor = Thread.ofVirtual().name("thaw-runtime-api-" + owner).start(this::acceptLoop);
    }

    /** @return {@code host:port/secret}: the instance's {@code AWS_LAMBDA_RUNTIME_API} */
    String runtimeApi(String secret) {
        return address + "/" + secret;
    }

    /** Accepts requests under another secret too (a clone's own, given in its resume line). */
    void allow(String secret) {
        secrets.add(secret);
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel c;
            try {
                c = listener.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closed) {
                    LOG.log(System.Logger.Level.WARNING, "Runtime API of " + owner + ": accept failed: " + e.getMessage());
                }
                return;
            }
            connections.add(c);
            Thread.ofVirtual().name("thaw-runtime-conn-" + owner).start(() -> serve(c));
        }
    }

    private void serve(SocketChannel c) {
        try (c; InputStream in = new dev.thaw.node.xdt.ChannelInput(c, 16 * 1024);
             OutputStream out = Channels.newOutputStream(c)) {
            c.socket().setTcpNoDelay(true);
            while (!closed) {
                Http1.Head head = readHead(in);
                if (head == null) {
                    return; // the runtime closed its connection
                }
                Streamed streamed = streamed(head);
                if (streamed != null) {
                    SocketExchange exchange = new SocketExchange(c, in, head);
                    try {
                        streamed.handle(exchange);
                    } catch (RuntimeException e) {
                        // the path is not logged: a read's path holds its reference, a capability
                        LOG.log(System.Logger.Level.WARNING, "Runtime API of " + owner + ": a streamed " + head.first()
                                + " failed: " + e);
                        return; // the answer may be half written: the connection ends
                    }
                    if (!exchange.finish()) {
                        return;
                    }
                    continue;
                }
                Request req = withBody(in, head);
                if (req == null) {
                    return;
                }
                Response res = dispatch(req);
                write(out, res, keepAlive(req));
                if (!keepAlive(req)) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (SocketException | ClosedChannelException e) {
            // the instance or the node went away mid-exchange
        } catch (IOException e) {
            if (!closed) {
                LOG.log(System.Logger.Level.DEBUG, "Runtime API of " + owner + ": " + e.getMessage());
            }
        } finally {
            connections.remove(c);
        }
    }

    /** @return the streamed handler of a request that carries the instance's prefix, or null */
    private Streamed streamed(Http1.Head head) {
        String path = head.second();
        int q = path.indexOf('?');
        if (q >= 0) {
            path = path.substring(0, q);
        }
        int slash = path.indexOf('/', 1);
        if (slash < 0 || !secrets.contains(path.substring(1, slash))) {
            return null; // refused by dispatch, after its body is read
        }
        return handler.streamed(head.first(), path.substring(slash));
    }

    private Response dispatch(Request req) throws InterruptedException {
        String path = req.path();
        int q = path.indexOf('?');
        if (q >= 0) {
            path = path.substring(0, q);
        }
        int slash = path.indexOf('/', 1);
        String prefix = slash < 0 ? path.substring(1) : path.substring(1, slash);
        if (slash < 0 || !secrets.contains(prefix)) {
            LOG.log(System.Logger.Level.WARNING, "Runtime API of " + owner + ": refused " + req.method() + " "
                    + redact(path) + ": its path does not start with the instance's secret prefix");
            return Response.json(403, "{\"errorMessage\":\"this Runtime API address needs the instance's own"
                    + " AWS_LAMBDA_RUNTIME_API prefix\",\"errorType\":\"Forbidden\"}");
        }
        return handler.handle(req, path.substring(slash));
    }

    /** A path with its first segment, possibly a guessed secret, left out of the log. */
    private static String redact(String path) {
        int slash = path.indexOf('/', 1);
        return slash < 0 ? "/…" : "/…" + path.substring(slash);
    }

    private static boolean keepAlive(Request req) {
        return !"close".equalsIgnoreCase(req.header("connection").orElse(""));
    }

    /** @return the next request, or null at a clean end of the connection */
    static Request read(InputStream in) throws IOException {
        Http1.Head head = readHead(in);
        return head == null ? null : withBody(in, head);
    }

    /** @return the next request's head, or null at a clean end of the connection */
    private static Http1.Head readHead(InputStream in) throws IOException {
        Http1.Head head = Http1.readHead(in);
        if (head != null && (head.third().isEmpty() || !head.third().startsWith("HTTP/1.") || head.third().contains(" "))) {
            throw new IOException("not an HTTP/1.x request line: " + head.first() + " " + head.second() + " " + head.third());
        }
        return head;
    }

    /** @return the request with its body read whole (bounded), or null when the connection ended in it */
    private static Request withBody(InputStream in, Http1.Head head) throws IOException {
        Map<String, String> headers = head.headers();
        byte[] body;
        if ("chunked".equalsIgnoreCase(headers.getOrDefault("transfer-encoding", ""))) {
            body = chunked(in);
        } else {
            long length = Long.parseLong(headers.getOrDefault("content-length", "0"));
            if (length > MAX_BODY_BYTES) {
                throw new IOException("request body of " + length + " bytes is over the limit of " + MAX_BODY_BYTES);
            }
            body = in.readNBytes((int) length);
            if (body.length < length) {
                return null;
            }
        }
        return new Request(head.first(), head.second(), headers, body);
    }

    private static byte[] chunked(InputStream in) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            String size = line(in, false);
            int semi = size.indexOf(';');
            int n = Integer.parseInt((semi < 0 ? size : size.substring(0, semi)).strip(), 16);
            if (n == 0) {
                while (!line(in, false).isEmpty()) {
                    // trailers: none are used
                }
                return body.toByteArray();
            }
            if (body.size() + n > MAX_BODY_BYTES) {
                throw new IOException("chunked request body over the limit of " + MAX_BODY_BYTES + " bytes");
            }
            body.write(in.readNBytes(n));
            line(in, false);
        }
    }

    /** @return one CRLF-terminated line without its terminator; null at end of stream before any byte if {@code eofOk} */
    private static String line(InputStream in, boolean eofOk) throws IOException {
        StringBuilder s = new StringBuilder();
        while (true) {
            int b = in.read();
            if (b < 0) {
                if (eofOk && s.isEmpty()) {
                    return null;
                }
                throw new IOException("connection closed in the middle of a request");
            }
            if (b == '\n') {
                int len = s.length();
                return len > 0 && s.charAt(len - 1) == '\r' ? s.substring(0, len - 1) : s.toString();
            }
            if (s.length() > MAX_HEAD_BYTES) {
                throw new IOException("request line over " + MAX_HEAD_BYTES + " bytes");
            }
            s.append((char) b);
        }
    }

    private static void write(OutputStream out, Response res, boolean keepAlive) throws IOException {
        StringBuilder head = new StringBuilder("HTTP/1.1 ").append(res.status()).append(' ').append(reason(res.status()))
                .append("\r\n");
        res.headers().forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
        if (res.status() != 204) { // a 204 has no body, and says so by having no length
            head.append("Content-Length: ").append(res.body().length).append("\r\n");
        }
        if (!keepAlive) {
            head.append("Connection: close\r\n");
        }
        head.append("\r\n");
        byte[] h = head.toString().getBytes(StandardCharsets.ISO_8859_1);
        byte[] all = new byte[h.length + res.body().length];
        System.arraycopy(h, 0, all, 0, h.length);
        System.arraycopy(res.body(), 0, all, h.length, res.body().length);
        out.write(all);
        out.flush();
    }

    private static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 202 -> "Accepted";
            case 204 -> "No Content";
            case 400 -> "Bad Request";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 410 -> "Gone";
            case 413 -> "Payload Too Large";
            default -> "Status";
        };
    }

    /** Stops accepting and closes every connection; a runtime blocked in {@code next} sees its connection end. */
    @Override
    public void close() {
        closed = true;
        try {
            listener.close();
        } catch (IOException e) {
            // closing
        }
        if (Thread.currentThread() != acceptor) {
            try {
                acceptor.join(2_000); // the listening socket is gone once its accept returned
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (SocketChannel c : connections) {
            try {
                c.close();
            } catch (IOException e) {
                // closing
            }
        }
    }
}
