package dev.thaw.node.placement;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;

/*
 * Forwards an invocation a front door placed on another node, and brings the answer back verbatim:
 * status, headers and body, so that a caller sees what it would have seen on one node. Connections
 * to each node are kept alive and reused (a forwarded warm invocation must add well under a
 * millisecond): a small HTTP/1.1 client over plain sockets, without the JDK client's selector
 * thread between the caller's thread and the socket.
 *
 * An invocation is never sent twice: when a connection breaks after the request went out, the
 * remote node may have run it, so the caller gets an error naming the node instead of a retry. A
 * reused connection the remote closed while idle fails before a single byte of the request is
 * accepted, which is told apart by the write failing; only then is a fresh connection tried.
 */
/** Sends requests to other nodes over kept-alive connections (see the comment above). */
public final class Forwarder implements AutoCloseable {
    private static final int CONNECT_TIMEOUT_MS = 2_000;
    private static final int MAX_IDLE_PER_NODE = 32;

    /** An answer from the remote node. */
    public record Answer(int status, List<Map.Entry<String, String>> headers, byte[] body) {
    }

    /** The remote node could not be reached, or the connection broke mid-exchange. */
    public static final class NodeUnreachable extends IOException {
        private static final long serialVersionUID = 1L;
        private final boolean requestSent;

        NodeUnreachable(String message, boolean requestSent, Throwable cause) {
            super(message, cause);
            this.requestSent = requestSent;
        }

        /** @return whether the request may have reached the node (it may then have run) */
        public boolean requestSent() {
            return requestSent;
        }
    }

    private record Conn(Socket socket, InputStream in, OutputStream out) {
    }

    private final Map<String, ConcurrentLinkedDeque<Conn>> idle = new ConcurrentHashMap<>();
    private final int readTimeoutMs;

    /** @param readTimeoutMs longest wait for an answer (the longest function timeout plus a margin) */
    public Forwarder(int readTimeoutMs) {
        this.readTimeoutMs = readTimeoutMs;
    }

    /**
     * @param node the remote node's base URI ({@code http://host:port})
     * @param method the HTTP method
     * @param pathAndQuery the request target, e.g. {@code /functions/f/invoke}
     * @param headers headers to send (not Host or Content-Length, which this sets)
     * @param body the request body
     */
    public Answer send(URI node, String method, String pathAndQuery, List<Map.Entry<String, String>> headers, byte[] body)
            throws NodeUnreachable {
        String key = node.getHost() + ":" + node.getPort();
        byte[] request = request(node, method, pathAndQuery, headers, body);
        Conn c = idle.computeIfAbsent(key, k -> new ConcurrentLinkedDeque<>()).pollFirst();
        if (c != null) {
            try {
                c.out().write(request);
                c.out().flush();
            } catch (IOException e) {
                close(c); // closed by the remote while idle: nothing was accepted, so a fresh connection is safe
                c = null;
            }
            if (c != null) {
                return exchange(key, c);
            }
        }
        Conn fresh = open(node);
        try {
            fresh.out().write(request);
            fresh.out().flush();
        } catch (IOException e) {
            close(fresh);
            throw new NodeUnreachable("node " + key + " closed the connection before the request was sent: "
                    + e.getMessage(), false, e);
        }
        return exchange(key, fresh);
    }

    private Answer exchange(String key, Conn c) throws NodeUnreachable {
        try {
            Answer a = read(c.in());
            boolean keep = a.headers().stream().noneMatch(h -> h.getKey().equalsIgnoreCase("Connection")
                    && h.getValue().equalsIgnoreCase("close"));
            ConcurrentLinkedDeque<Conn> pool = idle.get(key);
            if (keep && pool.size() < MAX_IDLE_PER_NODE) {
                pool.addFirst(c);
            } else {
                close(c);
            }
            return a;
        } catch (IOException e) {
            close(c);
            throw new NodeUnreachable("node " + key + " stopped answering while it had the request: " + e.getMessage(),
                    true, e);
        }
    }

    private Conn open(URI node) throws NodeUnreachable {
        try {
            Socket s = new Socket();
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(node.getHost(), node.getPort()), CONNECT_TIMEOUT_MS);
            s.setSoTimeout(readTimeoutMs);
            return new Conn(s, new BufferedInputStream(s.getInputStream(), 16 * 1024), s.getOutputStream());
        } catch (IOException e) {
            throw new NodeUnreachable("node " + node.getHost() + ":" + node.getPort() + " cannot be reached: "
                    + e.getMessage(), false, e);
        }
    }

    private static byte[] request(URI node, String method, String target, List<Map.Entry<String, String>> headers,
                                  byte[] body) {
        StringBuilder h = new StringBuilder(method).append(' ').append(target).append(" HTTP/1.1\r\nHost: ")
                .append(node.getHost()).append(':').append(node.getPort()).append("\r\n");
        for (Map.Entry<String, String> e : headers) {
            h.append(e.getKey()).append(": ").append(e.getValue()).append("\r\n");
        }
        h.append("Content-Length: ").append(body.length).append("\r\n\r\n");
        byte[] head = h.toString().getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[head.length + body.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(body, 0, all, head.length, body.length);
        return all;
    }

    static Answer read(InputStream in) throws IOException {
        String status = line(in);
        String[] parts = status.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
            throw new IOException("not an HTTP/1.x answer: " + status);
        }
        List<Map.Entry<String, String>> headers = new ArrayList<>();
        long length = -1;
        boolean chunked = false;
        for (String l; !(l = line(in)).isEmpty(); ) {
            int colon = l.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String name = l.substring(0, colon).strip();
            String value = l.substring(colon + 1).strip();
            String lower = name.toLowerCase(Locale.ROOT);
            if (lower.equals("content-length")) {
                length = Long.parseLong(value);
            } else if (lower.equals("transfer-encoding") && value.equalsIgnoreCase("chunked")) {
                chunked = true;
            } else {
                headers.add(Map.entry(name, value));
            }
        }
        byte[] body;
        if (chunked) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (int n; (n = Integer.parseInt(line(in).split(";")[0].strip(), 16)) > 0; ) {
                b.write(in.readNBytes(n));
                line(in);
            }
            while (!line(in).isEmpty()) {
                // trailers
            }
            body = b.toByteArray();
        } else {
            body = length < 0 ? new byte[0] : in.readNBytes((int) length);
            if (length >= 0 && body.length < length) {
                throw new IOException("the answer ended after " + body.length + " of " + length + " bytes");
            }
        }
        return new Answer(Integer.parseInt(parts[1]), headers, body);
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder s = new StringBuilder();
        for (int b; (b = in.read()) != '\n'; ) {
            if (b < 0) {
                throw new IOException("the connection ended in the middle of an answer");
            }
            s.append((char) b);
        }
        int n = s.length();
        return n > 0 && s.charAt(n - 1) == '\r' ? s.substring(0, n - 1) : s.toString();
    }

    private static void close(Conn c) {
        try {
            c.socket().close();
        } catch (IOException e) {
            // closing
        }
    }

    @Override
    public void close() {
        idle.values().forEach(q -> q.forEach(Forwarder::close));
        idle.clear();
    }
}
