package dev.thaw.node.xdt;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The pieces of HTTP/1.1 that streamed transfers need on raw connections: request and response
 * heads, bodies bounded by {@code Content-Length}, chunked bodies with trailers, both ways. Used
 * by the instances' Runtime API endpoints (their streamed routes) and by the node-to-node
 * transfer listener and client, which move data between sockets, buffers and files without a
 * framework's copies in between.
 */
public final class Http1 {
    /** Longest head (request or status line plus headers) accepted. */
    public static final int MAX_HEAD_BYTES = 64 * 1024;

    private Http1() {
    }

    /** A request or response head: the start line's parts and the headers, by lower-case name. */
    public record Head(String first, String second, String third, Map<String, String> headers) {
        /** @return a header's value by its case-insensitive name, or null */
        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        /** @return whether the body is chunked */
        public boolean chunked() {
            return "chunked".equalsIgnoreCase(headers.getOrDefault("transfer-encoding", ""));
        }

        /** @return the Content-Length, or -1 when there is none */
        public long contentLength() throws IOException {
            String v = headers.get("content-length");
            if (v == null) {
                return -1;
            }
            try {
                long n = Long.parseLong(v.strip());
                if (n < 0) {
                    throw new IOException("negative Content-Length: " + v);
                }
                return n;
            } catch (NumberFormatException e) {
                throw new IOException("not a Content-Length: " + v);
            }
        }
    }

    /**
     * Reads a head: a start line of three parts separated by spaces (the third may hold spaces, as
     * a reason phrase does), then headers up to an empty line.
     *
     * @return the head, or null at a clean end of the connection before its first byte
     */
    public static Head readHead(InputStream in) throws IOException {
        String start = line(in, true);
        if (start == null) {
            return null;
        }
        String[] parts = start.split(" ", 3);
        if (parts.length < 2) {
            throw new IOException("not an HTTP/1.x start line: " + start);
        }
        Map<String, String> headers = new LinkedHashMap<>();
        int headBytes = start.length();
        for (String h; !(h = line(in, false)).isEmpty(); ) {
            headBytes += h.length();
            if (headBytes > MAX_HEAD_BYTES) {
                throw new IOException("head over " + MAX_HEAD_BYTES + " bytes");
            }
            int colon = h.indexOf(':');
            if (colon > 0) {
                headers.put(h.substring(0, colon).strip().toLowerCase(Locale.ROOT), h.substring(colon + 1).strip());
            }
        }
        return new Head(parts[0], parts[1], parts.length > 2 ? parts[2] : "", headers);
    }

    /** @return one CRLF- (or LF-) terminated line without its terminator; null at end of stream before any byte if {@code eofOk} */
    static String line(InputStream in, boolean eofOk) throws IOException {
        StringBuilder s = new StringBuilder(64);
        while (true) {
            int b = in.read();
            if (b < 0) {
                if (eofOk && s.isEmpty()) {
                    return null;
                }
                throw new EOFException("the connection closed in the middle of a head");
            }
            if (b == '\n') {
                int len = s.length();
                return len > 0 && s.charAt(len - 1) == '\r' ? s.substring(0, len - 1) : s.toString();
            }
            if (s.length() > MAX_HEAD_BYTES) {
                throw new IOException("head line over " + MAX_HEAD_BYTES + " bytes");
            }
            s.append((char) b);
        }
    }

    /**
     * @return the body of a message with this head: bounded by its Content-Length, or decoded from
     *     chunks (trailers read and kept), or empty when it has neither
     */
    public static InputStream body(InputStream in, Head head) throws IOException {
        if (head.chunked()) {
            return new ChunkedInputStream(in);
        }
        long n = head.contentLength();
        return new BoundedInputStream(in, Math.max(0, n));
    }

    /** A request head. */
    public static byte[] requestHead(String method, String target, Map<String, String> headers) {
        StringBuilder h = new StringBuilder(256).append(method).append(' ').append(target).append(" HTTP/1.1\r\n");
        headers.forEach((k, v) -> h.append(k).append(": ").append(v).append("\r\n"));
        return h.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    /**
     * A response head.
     *
     * @param contentLength the body's length, or -1 for a chunked body
     */
    public static byte[] responseHead(int status, Map<String, String> headers, long contentLength, boolean keepAlive) {
        StringBuilder h = new StringBuilder(256).append("HTTP/1.1 ").append(status).append(' ').append(reason(status))
                .append("\r\n");
        headers.forEach((k, v) -> h.append(k).append(": ").append(v).append("\r\n"));
        if (contentLength >= 0) {
            h.append("Content-Length: ").append(contentLength).append("\r\n");
        } else {
            h.append("Transfer-Encoding: chunked\r\n");
        }
        if (!keepAlive) {
            h.append("Connection: close\r\n");
        }
        return h.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    /** @return the reason phrase of a status */
    public static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 201 -> "Created";
            case 202 -> "Accepted";
            case 400 -> "Bad Request";
            case 401 -> "Unauthorized";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 410 -> "Gone";
            case 413 -> "Payload Too Large";
            case 500 -> "Internal Server Error";
            case 502 -> "Bad Gateway";
            case 503 -> "Service Unavailable";
            case 507 -> "Insufficient Storage";
            default -> "Status";
        };
    }

    /** Writes all of {@code buffer} to a blocking channel. */
    public static void writeFully(WritableByteChannel ch, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            ch.write(buffer);
        }
    }

    /** A body that can also be read straight into a buffer (a native one, with no copy on the way). */
    public interface DirectBody {
        /** @return bytes read into {@code dst}, or -1 at the body's end */
        int read(ByteBuffer dst) throws IOException;
    }

    /** Reads from {@code in} into {@code dst}, directly when {@code in} is a {@link ChannelInput}. */
    static int readInto(InputStream in, ByteBuffer dst) throws IOException {
        if (in instanceof ChannelInput c) {
            return c.read(dst);
        }
        if (dst.hasArray()) {
            int n = in.read(dst.array(), dst.arrayOffset() + dst.position(), dst.remaining());
            if (n > 0) {
                dst.position(dst.position() + n);
            }
            return n;
        }
        byte[] b = new byte[Math.min(dst.remaining(), 64 * 1024)];
        int n = in.read(b);
        if (n > 0) {
            dst.put(b, 0, n);
        }
        return n;
    }

    /** A body of a known length: reads end there; a connection that ends sooner is an error. */
    public static final class BoundedInputStream extends InputStream implements DirectBody {
        private final InputStream in;
        private long remaining;

        public BoundedInputStream(InputStream in, long length) {
            this.in = in;
            this.remaining = length;
        }

        /** @return the bytes not read yet */
        public long remaining() {
            return remaining;
        }

        @Override
        public int read() throws IOException {
            if (remaining == 0) {
                return -1;
            }
            int b = in.read();
            if (b < 0) {
                throw new EOFException("the connection closed with " + remaining + " body bytes still to come");
            }
            remaining--;
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (remaining == 0) {
                return -1;
            }
            if (len == 0) {
                return 0;
            }
            int n = in.read(b, off, (int) Math.min(len, remaining));
            if (n < 0) {
                throw new EOFException("the connection closed with " + remaining + " body bytes still to come");
            }
            remaining -= n;
            return n;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (remaining == 0) {
                return -1;
            }
            if (!dst.hasRemaining()) {
                return 0;
            }
            ByteBuffer view = dst.remaining() > remaining ? dst.slice(dst.position(), (int) remaining) : dst;
            int n = readInto(in, view);
            if (n < 0) {
                throw new EOFException("the connection closed with " + remaining + " body bytes still to come");
            }
            if (view != dst) {
                dst.position(dst.position() + n);
            }
            remaining -= n;
            return n;
        }

        @Override
        public int available() throws IOException {
            return (int) Math.min(in.available(), remaining);
        }

        /** Does not close the connection: the body ends, the connection may carry on. */
        @Override
        public void close() {
        }
    }

    /** A chunked body, decoded; its trailers are available once it has been read to its end. */
    public static final class ChunkedInputStream extends InputStream implements DirectBody {
        private final InputStream in;
        private long chunkLeft;
        private boolean done;
        private final Map<String, String> trailers = new LinkedHashMap<>();

        public ChunkedInputStream(InputStream in) {
            this.in = in;
        }

        /** @return the trailers by lower-case name, complete once {@link #read} returned -1 */
        public Map<String, String> trailers() {
            return trailers;
        }

        private boolean next() throws IOException {
            if (done) {
                return false;
            }
            if (chunkLeft > 0) {
                return true;
            }
            String size = line(in, false);
            int semi = size.indexOf(';');
            long n;
            try {
                n = Long.parseLong((semi < 0 ? size : size.substring(0, semi)).strip(), 16);
            } catch (NumberFormatException e) {
                throw new IOException("not a chunk size: " + size);
            }
            if (n < 0) {
                throw new IOException("negative chunk size: " + size);
            }
            if (n == 0) {
                for (String t; !(t = line(in, false)).isEmpty(); ) {
                    int colon = t.indexOf(':');
                    if (colon > 0) {
                        trailers.put(t.substring(0, colon).strip().toLowerCase(Locale.ROOT), t.substring(colon + 1).strip());
                    }
                }
                done = true;
                return false;
            }
            chunkLeft = n;
            return true;
        }

        private void endOfChunk() throws IOException {
            if (chunkLeft == 0 && !line(in, false).isEmpty()) {
                throw new IOException("a chunk is longer than its size says");
            }
        }

        @Override
        public int read() throws IOException {
            if (!next()) {
                return -1;
            }
            int b = in.read();
            if (b < 0) {
                throw new EOFException("the connection closed in the middle of a chunk");
            }
            chunkLeft--;
            endOfChunk();
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (!next()) {
                return -1;
            }
            int n = in.read(b, off, (int) Math.min(len, chunkLeft));
            if (n < 0) {
                throw new EOFException("the connection closed in the middle of a chunk");
            }
            chunkLeft -= n;
            endOfChunk();
            return n;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (!dst.hasRemaining()) {
                return 0;
            }
            if (!next()) {
                return -1;
            }
            ByteBuffer view = dst.remaining() > chunkLeft ? dst.slice(dst.position(), (int) chunkLeft) : dst;
            int n = readInto(in, view);
            if (n < 0) {
                throw new EOFException("the connection closed in the middle of a chunk");
            }
            if (view != dst) {
                dst.position(dst.position() + n);
            }
            chunkLeft -= n;
            endOfChunk();
            return n;
        }

        /** Does not close the connection. */
        @Override
        public void close() {
        }
    }

    /** Writes a chunked body to a channel: data chunks, then the last chunk with trailers. */
    public static final class ChunkedOutput {
        private final WritableByteChannel ch;

        public ChunkedOutput(WritableByteChannel ch) {
            this.ch = ch;
        }

        /** Writes the buffer's remaining bytes as one chunk (nothing for an empty buffer). */
        public void write(ByteBuffer data) throws IOException {
            int n = data.remaining();
            if (n == 0) {
                return;
            }
            writeFully(ch, ByteBuffer.wrap((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.ISO_8859_1)));
            writeFully(ch, data);
            writeFully(ch, ByteBuffer.wrap(CRLF));
        }

        /** Ends the body with the given trailers. */
        public void finish(Map<String, String> trailers) throws IOException {
            StringBuilder t = new StringBuilder("0\r\n");
            trailers.forEach((k, v) -> t.append(k).append(": ").append(v.replace('\r', ' ').replace('\n', ' ')).append("\r\n"));
            t.append("\r\n");
            writeFully(ch, ByteBuffer.wrap(t.toString().getBytes(StandardCharsets.UTF_8)));
        }

        private static final byte[] CRLF = {'\r', '\n'};
    }
}
