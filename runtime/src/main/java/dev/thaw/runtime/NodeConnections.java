package dev.thaw.runtime;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;

/*
 * Connections from the function's own code to its node, beside the invocation loop's: thaw's
 * transfers (RuntimeXdt) and calls of other functions (RuntimeFunctions). Each call takes a
 * kept-alive connection of its own from a small pool, or opens one, so that a handler may use them
 * from several threads and keep a read open while it answers.
 *
 * The pool talks to the address the runtime was given at start and after each restore (a clone's
 * own endpoint, which keeps no idle timeout); it is emptied before a checkpoint, so no socket of it
 * is in a snapshot, and when the address changes. A small blocking HTTP/1.1 client rather than the
 * JDK's HttpClient for the reason RuntimeHttp gives: its selector thread costs milliseconds per
 * exchange on the invocation path.
 */
/** Kept-alive connections from the function's code to its node (see the comment above). */
final class NodeConnections {
    static final int MAX_LINE = 16 * 1024;
    static final byte[] CRLF = {'\r', '\n'};
    private static final int MAX_IDLE = 4;
    private static final ConcurrentLinkedDeque<Conn> IDLE = new ConcurrentLinkedDeque<>();
    private static volatile String address;

    private NodeConnections() {
    }

    /** Talks to this Runtime API address from now on ({@code host:port/prefix}). */
    static void use(String runtimeApi) {
        address = runtimeApi;
        closeIdle();
    }

    /** Closes every pooled connection (before a checkpoint, and when the address changes). */
    static void closeIdle() {
        for (Conn c; (c = IDLE.pollFirst()) != null; ) {
            c.close();
        }
    }

    /**
     * A Runtime API address, {@code host:port} optionally followed by a path prefix, as in
     * {@code AWS_LAMBDA_RUNTIME_API}: the prefix goes before every path the runtime asks for.
     */
    record Address(String host, int port, String prefix) {
        static Address parse(String runtimeApi) {
            int slash = runtimeApi.indexOf('/');
            String hostPort = slash < 0 ? runtimeApi : runtimeApi.substring(0, slash);
            int colon = hostPort.lastIndexOf(':');
            return new Address(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)),
                    slash < 0 ? "" : runtimeApi.substring(slash));
        }

        /** @return {@code host:port}, for the {@code Host} header */
        String authority() {
            return host + ":" + port;
        }
    }

    /**
     * Reads an HTTP line (head, chunk size or trailer) without its CR LF; the runtime's two clients
     * share it.
     *
     * @throws EOFException when the connection ends in the middle of the line
     */
    static String readLine(InputStream in, int max) throws IOException {
        StringBuilder s = new StringBuilder(64);
        for (int c; (c = in.read()) != '\n'; ) {
            if (c < 0) {
                throw new EOFException("the node closed the connection in the middle of an answer");
            }
            if (c != '\r') {
                s.append((char) c);
            }
            if (s.length() > max) {
                throw new IOException("an answer's line is longer than " + max + " bytes");
            }
        }
        return s.toString();
    }

    /** @return a pooled connection ({@link Conn#reused} set), or a new one */
    static Conn take() throws IOException {
        Conn c = IDLE.pollFirst();
        if (c != null) {
            c.reused = true;
            return c;
        }
        String at = address;
        if (at == null) {
            throw new IOException("the runtime has no Runtime API address yet");
        }
        return new Conn(at);
    }

    /** A response head. */
    record Response(int status, Map<String, String> headers) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        boolean chunked() {
            return "chunked".equalsIgnoreCase(header("transfer-encoding"));
        }

        long contentLength() {
            String v = header("content-length");
            return v == null ? 0 : Long.parseLong(v.strip());
        }

        boolean keepAlive() {
            return !"close".equalsIgnoreCase(header("connection"));
        }
    }

    /** One keep-alive connection to the node. */
    static final class Conn {
        final String owner;
        final Address target;
        final Socket socket;
        final InputStream in;
        final OutputStream out;
        boolean reused;

        Conn(String runtimeApi) throws IOException {
            this.owner = runtimeApi;
            this.target = Address.parse(runtimeApi);
            Socket s = new Socket();
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(target.host(), target.port()), 10_000);
            this.socket = s;
            this.in = new BufferedInputStream(s.getInputStream(), 64 * 1024);
            this.out = new BufferedOutputStream(s.getOutputStream(), 64 * 1024);
        }

        /** Writes a request head (the path goes after the address's prefix) and flushes it. */
        void send(String method, String path, Map<String, String> headers) throws IOException {
            writeHead(method, path, headers);
            out.flush();
        }

        /** Writes a request head into the buffer, for a body to follow in the same packet. */
        void writeHead(String method, String path, Map<String, String> headers) throws IOException {
            StringBuilder h = new StringBuilder(256).append(method).append(' ').append(target.prefix()).append(path)
                    .append(" HTTP/1.1\r\nHost: ").append(target.authority()).append("\r\n");
            headers.forEach((k, v) -> h.append(k).append(": ").append(v).append("\r\n"));
            out.write(h.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
        }

        Response readHead() throws IOException {
            String status = line();
            String[] parts = status.split(" ", 3);
            if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
                throw new IOException("not an HTTP response: " + status);
            }
            return new Response(Integer.parseInt(parts[1]), fields());
        }

        Map<String, String> fields() throws IOException {
            Map<String, String> h = new LinkedHashMap<>();
            for (String l; !(l = line()).isEmpty(); ) {
                int colon = l.indexOf(':');
                if (colon > 0) {
                    h.put(l.substring(0, colon).strip().toLowerCase(Locale.ROOT), l.substring(colon + 1).strip());
                }
            }
            return h;
        }

        String line() throws IOException {
            return readLine(in, MAX_LINE);
        }

        /**
         * Reads a whole body, with a Content-Length or chunked, of at most {@code limit} bytes.
         * The connection goes back to the pool if the node keeps it.
         */
        byte[] readBody(Response r, int limit) throws IOException {
            byte[] body;
            if (r.chunked()) {
                ByteArrayOutputStream all = new ByteArrayOutputStream();
                for (long n; (n = chunkSize()) > 0; ) {
                    if (all.size() + n > limit) {
                        throw new IOException("an answer's body is longer than " + limit + " bytes");
                    }
                    byte[] chunk = in.readNBytes((int) n);
                    if (chunk.length != n) {
                        throw new EOFException("the node closed the connection in the middle of an answer");
                    }
                    all.write(chunk);
                    line();
                }
                fields(); // trailers
                body = all.toByteArray();
            } else {
                long n = r.contentLength();
                if (n > limit) {
                    throw new IOException("an answer's body is longer than " + limit + " bytes");
                }
                body = in.readNBytes((int) n);
                if (body.length != n) {
                    throw new EOFException("the node closed the connection in the middle of an answer");
                }
            }
            release(r);
            return body;
        }

        private long chunkSize() throws IOException {
            String size = line();
            int semi = size.indexOf(';');
            try {
                return Long.parseLong((semi < 0 ? size : size.substring(0, semi)).strip(), 16);
            } catch (NumberFormatException e) {
                throw new IOException("not a chunk size: " + size);
            }
        }

        /** Back to the pool, if the answer was read whole and the node keeps the connection. */
        void release(Response r) {
            if (r.keepAlive() && owner.equals(address) && IDLE.size() < MAX_IDLE) {
                reused = false;
                IDLE.addFirst(this);
            } else {
                close();
            }
        }

        void close() {
            try {
                socket.close();
            } catch (IOException e) {
                // closing
            }
        }
    }
}
