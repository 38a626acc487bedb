package dev.thaw.runtime;

import java.io.BufferedInputStream;
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

/**
 * A blocking HTTP/1.1 client for exactly one peer, the node's Runtime API: one keep-alive socket,
 * one request at a time, {@code Content-Length} or chunked bodies.
 *
 * <p>Why not the JDK's {@code HttpClient}: it runs every exchange through a selector thread and
 * the common fork-join pool. Measured on this project's 2-core machines, a restored clone's first
 * request through a fresh {@code HttpClient} took about 80 ms, and warm exchanges 4-20 ms, all of it
 * on the cold-start and invocation paths. The Runtime API needs none of that machinery: the
 * runtime asks for work and posts results strictly one after the other. A library would be the
 * usual answer, but the runtime shares its JVM with user code and must stay small and free of
 * dependencies the user's own could clash with.
 */
final class RuntimeHttp implements AutoCloseable {
    private static final int MAX_HEADER_LINE = 16 * 1024;

    private final NodeConnections.Address address;
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    /** A response: status, headers (lower-case names) and body. */
    record Response(int status, Map<String, String> headers, byte[] body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    /** @param address {@code host:port} optionally followed by a path prefix, as in {@code AWS_LAMBDA_RUNTIME_API} */
    RuntimeHttp(String address) {
        this.address = NodeConnections.Address.parse(address);
    }

    Response get(String path) throws IOException {
        return exchange("GET", path, null, Map.of());
    }

    Response post(String path, byte[] body, Map<String, String> headers) throws IOException {
        return exchange("POST", path, body, headers);
    }

    /** Sends one request; a keep-alive connection the server closed meanwhile is reopened once. */
    private Response exchange(String method, String path, byte[] body, Map<String, String> headers) throws IOException {
        boolean reused = socket != null;
        try {
            return send(method, path, body, headers);
        } catch (IOException e) {
            close();
            if (!reused) {
                throw e;
            }
            return send(method, path, body, headers);
        }
    }

    private Response send(String method, String path, byte[] body, Map<String, String> headers) throws IOException {
        connect();
        StringBuilder head = new StringBuilder(256)
                .append(method).append(' ').append(address.prefix()).append(path).append(" HTTP/1.1\r\n")
                .append("Host: ").append(address.authority()).append("\r\n");
        headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
        if (body != null) {
            head.append("Content-Length: ").append(body.length).append("\r\n");
        }
        head.append("\r\n");
        out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
        if (body != null) {
            out.write(body);
        }
        out.flush();
        return readResponse();
    }

    private void connect() throws IOException {
        if (socket != null) {
            return;
        }
        Socket s = new Socket();
        s.setTcpNoDelay(true);
        s.connect(new InetSocketAddress(address.host(), address.port()), 10_000);
        socket = s;
        in = new BufferedInputStream(s.getInputStream(), 64 * 1024);
        out = new java.io.BufferedOutputStream(s.getOutputStream(), 64 * 1024);
    }

    private Response readResponse() throws IOException {
        String statusLine = readLine();
        String[] parts = statusLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
            throw new IOException("not an HTTP response: " + statusLine);
        }
        int status = Integer.parseInt(parts[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (String line; !(line = readLine()).isEmpty(); ) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                headers.put(line.substring(0, colon).strip().toLowerCase(Locale.ROOT), line.substring(colon + 1).strip());
            }
        }
        byte[] body = readBody(headers);
        if ("close".equalsIgnoreCase(headers.get("connection"))) {
            close();
        }
        return new Response(status, headers, body);
    }

    private byte[] readBody(Map<String, String> headers) throws IOException {
        if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            while (true) {
                String sizeLine = readLine();
                int semi = sizeLine.indexOf(';');
                int size = Integer.parseInt((semi < 0 ? sizeLine : sizeLine.substring(0, semi)).strip(), 16);
                if (size == 0) {
                    while (!readLine().isEmpty()) {
                        // trailers: none expected, skipped
                    }
                    return body.toByteArray();
                }
                body.write(readExactly(size));
                readLine();
            }
        }
        String length = headers.get("content-length");
        return length == null ? new byte[0] : readExactly(Integer.parseInt(length));
    }

    private byte[] readExactly(int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length != n) {
            throw new EOFException("the connection closed after " + b.length + " of " + n + " body bytes");
        }
        return b;
    }

    private String readLine() throws IOException {
        return NodeConnections.readLine(in, MAX_HEADER_LINE);
    }

    @Override
    public void close() {
        Socket s = socket;
        socket = null;
        in = null;
        out = null;
        if (s != null) {
            try {
                s.close();
            } catch (IOException e) {
                // closing: nothing left to do
            }
        }
    }
}
