package dev.thaw.runtime;

import dev.thaw.api.Xdt;
import dev.thaw.api.XdtException;
import dev.thaw.api.XdtOptions;
import dev.thaw.protocol.RuntimeProtocol.Headers;
import dev.thaw.protocol.RuntimeProtocol.Routes;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
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
 * The instance's side of expedited data transfers: dev.thaw.api.Xdt over the node's Runtime API
 * (thaw-xdt/objects), registered as the service Xdt.get() finds.
 *
 * Every call takes a connection of its own from a small pool (or opens one), never the invocation
 * loop's: a handler may put and read from several threads, and a read may stay open while the
 * handler answers. Puts stream: a byte array goes with a Content-Length in one write, a stream in
 * chunks of up to 1 MiB as it is read, so nothing is buffered whole here. Reads stream: the answer
 * has a Content-Length (data this node holds), or is chunked with a trailer that says whether the
 * bytes matched the reference (data pulled from another node or S3); a stream whose trailer is not
 * "ok" throws from its last read instead of ending.
 *
 * The pool talks to the address the runtime was given at start and after each restore (a clone's
 * own); it is emptied before a checkpoint, so no socket of it is in a snapshot.
 */
/** {@link Xdt} for functions in a thaw instance (see the comment above). */
public final class RuntimeXdt implements Xdt {
    private static final int CHUNK = 1 << 20;
    private static final int MAX_IDLE = 4;
    private static final int MAX_LINE = 16 * 1024;
    private static final ConcurrentLinkedDeque<Conn> IDLE = new ConcurrentLinkedDeque<>();
    private static volatile String address;

    /** Made by {@link java.util.ServiceLoader} for {@link Xdt#get()}. */
    public RuntimeXdt() {
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

    // ---- Xdt -----------------------------------------------------------------------------------

    @Override
    public String put(byte[] data, XdtOptions options) {
        Map<String, String> headers = headers(options);
        headers.put("Content-Length", Integer.toString(data.length));
        return exchangePut(headers, out -> out.write(data), true);
    }

    @Override
    public String put(InputStream data, XdtOptions options) {
        Map<String, String> headers = headers(options);
        headers.put("Transfer-Encoding", "chunked");
        return exchangePut(headers, out -> {
            byte[] buf = new byte[CHUNK];
            while (true) {
                int n;
                try {
                    n = data.readNBytes(buf, 0, buf.length);
                } catch (IOException e) {
                    throw new SourceFailed(e);
                }
                if (n == 0) {
                    break;
                }
                out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                out.write(buf, 0, n);
                out.write(CRLF);
            }
            out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        }, false);
    }

    @Override
    public InputStream open(String reference) {
        if (reference == null || reference.isEmpty() || reference.length() > 4096
                || !reference.chars().allMatch(RuntimeXdt::referenceChar)) {
            throw new XdtException(XdtException.Reason.MALFORMED, "not an XDT reference: a reference is the string put()"
                    + " returned, starting with 'xdt2.'");
        }
        String path = Routes.BASE + Routes.xdtObject(reference);
        for (int attempt = 0; ; attempt++) {
            Conn c = take();
            boolean reused = c.reused;
            try {
                c.send("GET", path, Map.of());
                Response r = c.readHead();
                if (r.status != 200) {
                    throw c.refusal(r);
                }
                return r.chunked() ? new ChunkedBody(c) : new FixedBody(c, r.contentLength());
            } catch (IOException e) {
                c.close();
                if (reused && attempt == 0) {
                    continue; // a pooled connection the node had closed: once more on a fresh one
                }
                throw unavailable("the node did not answer the read", e);
            }
        }
    }

    // ---- requests ------------------------------------------------------------------------------

    private interface Body {
        void write(OutputStream out) throws IOException;
    }

    /** The caller's stream failed while it was being sent. */
    private static final class SourceFailed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        SourceFailed(IOException cause) {
            super(cause);
        }
    }

    private static Map<String, String> headers(XdtOptions o) {
        Map<String, String> h = new LinkedHashMap<>();
        h.put(Headers.XDT_READS, Integer.toString(o.reads()));
        h.put(Headers.XDT_TTL_MS, Long.toString(o.ttl().toMillis()));
        if (!o.readers().isEmpty()) {
            h.put(Headers.XDT_READERS, String.join(",", o.readers()));
        }
        if (o.durable()) {
            h.put(Headers.XDT_DURABLE, "true");
        }
        return h;
    }

    private String exchangePut(Map<String, String> headers, Body body, boolean retriable) {
        String path = Routes.BASE + Routes.XDT_OBJECTS;
        for (int attempt = 0; ; attempt++) {
            Conn c = take();
            boolean reused = c.reused;
            try {
                c.send("POST", path, headers);
                try {
                    body.write(c.out);
                    c.out.flush();
                } catch (IOException e) {
                    throw c.refusalInstead(e); // the node may have refused (full) and stopped reading
                }
                Response r = c.readHead();
                if (r.status != 201) {
                    throw c.refusal(r);
                }
                byte[] ref = c.readBody(r);
                c.release(r);
                return new String(ref, StandardCharsets.US_ASCII);
            } catch (SourceFailed e) {
                c.close();
                throw new XdtException(XdtException.Reason.UNAVAILABLE, "reading the data to put failed: "
                        + e.getCause().getMessage(), e.getCause());
            } catch (IOException e) {
                c.close();
                if (reused && retriable && attempt == 0) {
                    continue;
                }
                throw unavailable("the node did not take the put", e);
            }
        }
    }

    private static XdtException unavailable(String what, IOException e) {
        return new XdtException(XdtException.Reason.UNAVAILABLE, what + ": " + e.getMessage(), e);
    }

    private static boolean referenceChar(int c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
                || c == '.';
    }

    private static Conn take() {
        Conn c = IDLE.pollFirst();
        if (c != null) {
            c.reused = true;
            return c;
        }
        String at = address;
        if (at == null) {
            throw new XdtException(XdtException.Reason.UNAVAILABLE, "the runtime has no Runtime API address yet");
        }
        try {
            return new Conn(at);
        } catch (IOException e) {
            throw unavailable("cannot connect to the node", e);
        }
    }

    private static final byte[] CRLF = {'\r', '\n'};

    /** A response head. */
    private record Response(int status, Map<String, String> headers) {
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
    private static final class Conn {
        final String owner;
        final String prefix;
        final String host;
        final Socket socket;
        final InputStream in;
        final OutputStream out;
        boolean reused;

        Conn(String runtimeApi) throws IOException {
            this.owner = runtimeApi;
            int slash = runtimeApi.indexOf('/');
            String hostPort = slash < 0 ? runtimeApi : runtimeApi.substring(0, slash);
            this.prefix = slash < 0 ? "" : runtimeApi.substring(slash);
            this.host = hostPort;
            int colon = hostPort.lastIndexOf(':');
            Socket s = new Socket();
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1))),
                    10_000);
            this.socket = s;
            this.in = new BufferedInputStream(s.getInputStream(), 64 * 1024);
            this.out = new BufferedOutputStream(s.getOutputStream(), 64 * 1024);
        }

        void send(String method, String path, Map<String, String> headers) throws IOException {
            StringBuilder h = new StringBuilder(256).append(method).append(' ').append(prefix).append(path)
                    .append(" HTTP/1.1\r\nHost: ").append(host).append("\r\n");
            headers.forEach((k, v) -> h.append(k).append(": ").append(v).append("\r\n"));
            out.write(h.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
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
            StringBuilder s = new StringBuilder(64);
            for (int c; (c = in.read()) != '\n'; ) {
                if (c < 0) {
                    throw new EOFException("the node closed the connection in the middle of an answer");
                }
                if (c != '\r') {
                    s.append((char) c);
                }
                if (s.length() > MAX_LINE) {
                    throw new IOException("an answer's line is longer than " + MAX_LINE + " bytes");
                }
            }
            return s.toString();
        }

        /** Reads a small whole body (a reference, a refusal's message). */
        byte[] readBody(Response r) throws IOException {
            long n = r.contentLength();
            if (r.chunked() || n > MAX_LINE) {
                throw new IOException("unexpected answer body");
            }
            byte[] b = in.readNBytes((int) n);
            if (b.length != n) {
                throw new EOFException("the node closed the connection in the middle of an answer");
            }
            return b;
        }

        XdtException refusal(Response r) throws IOException {
            String message = new String(readBody(r), StandardCharsets.UTF_8);
            String reason = r.header(Headers.XDT_REASON);
            release(r);
            XdtException.Reason why;
            try {
                why = reason == null ? XdtException.Reason.UNAVAILABLE : XdtException.Reason.valueOf(reason.strip());
            } catch (IllegalArgumentException e) {
                why = XdtException.Reason.UNAVAILABLE;
            }
            return new XdtException(why, message.isEmpty() ? "the node answered " + r.status : message);
        }

        /**
         * A write failed: if the node answered before it stopped reading (a refusal), that answer
         * is the failure to report; otherwise the write's.
         */
        IOException refusalInstead(IOException writeFailure) {
            try {
                socket.setSoTimeout(2_000);
                Response r = readHead();
                if (r.status != 201) {
                    throw refusal(r);
                }
            } catch (IOException e) {
                // no answer: the write's failure stands
            }
            return writeFailure;
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

    /** Data with a Content-Length. */
    private static final class FixedBody extends InputStream {
        private final Conn c;
        private long left;
        private boolean done;

        FixedBody(Conn c, long length) {
            this.c = c;
            this.left = length;
            if (length == 0) {
                end(true);
            }
        }

        private void end(boolean whole) {
            if (!done) {
                done = true;
                if (whole) {
                    c.release(new Response(200, Map.of()));
                } else {
                    c.close();
                }
            }
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left == 0) {
                end(true);
                return -1;
            }
            if (done) {
                throw new IOException("the stream was closed");
            }
            if (len == 0) {
                return 0;
            }
            int n;
            try {
                n = c.in.read(b, off, (int) Math.min(len, left));
            } catch (IOException e) {
                end(false);
                throw new IOException("the transfer broke off", new XdtException(XdtException.Reason.UNAVAILABLE,
                        "the transfer broke off with " + left + " bytes to come: " + e.getMessage(), e));
            }
            if (n < 0) {
                end(false);
                throw new IOException("the transfer broke off", new XdtException(XdtException.Reason.UNAVAILABLE,
                        "the node closed the connection with " + left + " bytes to come"));
            }
            left -= n;
            if (left == 0) {
                end(true);
            }
            return n;
        }

        @Override
        public int available() throws IOException {
            return done ? 0 : (int) Math.min(left, c.in.available());
        }

        @Override
        public void close() {
            end(left == 0);
        }
    }

    /** Data in chunks, with the node's verdict in the trailer. */
    private static final class ChunkedBody extends InputStream {
        private final Conn c;
        private long chunkLeft;
        private boolean done;
        private boolean ended;

        ChunkedBody(Conn c) {
            this.c = c;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (ended) {
                return -1;
            }
            if (done) {
                throw new IOException("the stream was closed");
            }
            if (len == 0) {
                return 0;
            }
            try {
                if (chunkLeft == 0) {
                    String size = c.line();
                    int semi = size.indexOf(';');
                    chunkLeft = Long.parseLong((semi < 0 ? size : size.substring(0, semi)).strip(), 16);
                    if (chunkLeft == 0) {
                        verdict(c.fields());
                        return -1;
                    }
                }
                int n = c.in.read(b, off, (int) Math.min(len, chunkLeft));
                if (n < 0) {
                    throw new EOFException("the node closed the connection in the middle of the data");
                }
                chunkLeft -= n;
                if (chunkLeft == 0) {
                    c.line();
                }
                return n;
            } catch (IOException | NumberFormatException e) {
                if (e instanceof IOException io && io.getCause() instanceof XdtException) {
                    throw io;
                }
                done = true;
                c.close();
                throw new IOException("the transfer broke off", new XdtException(XdtException.Reason.UNAVAILABLE,
                        "the transfer broke off: " + e.getMessage(), e));
            }
        }

        private void verdict(Map<String, String> trailers) throws IOException {
            done = true;
            String status = trailers.get(Headers.XDT_STATUS.toLowerCase(Locale.ROOT));
            if (Headers.XDT_STATUS_OK.equals(status)) {
                ended = true;
                c.release(new Response(200, Map.of()));
                return;
            }
            c.close();
            String reason = status == null ? "UNAVAILABLE" : status.split(" ", 2)[0];
            String message = status == null ? "the node did not say whether the data arrived whole"
                    : status.contains(" ") ? status.split(" ", 2)[1] : status;
            XdtException.Reason why;
            try {
                why = XdtException.Reason.valueOf(reason);
            } catch (IllegalArgumentException e) {
                why = XdtException.Reason.UNAVAILABLE;
            }
            throw new IOException(message, new XdtException(why, message));
        }

        @Override
        public void close() {
            if (!done) {
                done = true;
                c.close();
            }
        }
    }
}
