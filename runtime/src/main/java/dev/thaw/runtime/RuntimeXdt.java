package dev.thaw.runtime;

import dev.thaw.api.Xdt;
import dev.thaw.api.XdtException;
import dev.thaw.api.XdtOptions;
import dev.thaw.protocol.RuntimeProtocol.Headers;
import dev.thaw.protocol.RuntimeProtocol.Routes;
import dev.thaw.runtime.NodeConnections.Conn;
import dev.thaw.runtime.NodeConnections.Response;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/*
 * The instance's side of expedited data transfers: dev.thaw.api.Xdt over the node's Runtime API
 * (thaw-xdt/objects), registered as the service Xdt.get() finds.
 *
 * Every call takes a connection of its own from NodeConnections' pool (or opens one), never the
 * invocation loop's: a handler may put and read from several threads, and a read may stay open
 * while the handler answers. Puts stream: a byte array goes with a Content-Length in one write, a
 * stream in chunks of up to 1 MiB as it is read, so nothing is buffered whole here. Reads stream: the answer
 * has a Content-Length (data this node holds), or is chunked with a trailer that says whether the
 * bytes matched the reference (data pulled from another node or S3); a stream whose trailer is not
 * "ok" throws from its last read instead of ending.
 */
/** {@link Xdt} for functions in a thaw instance (see the comment above). */
public final class RuntimeXdt implements Xdt {
    private static final int CHUNK = 1 << 20;

    /** Made by {@link java.util.ServiceLoader} for {@link Xdt#get()}. */
    public RuntimeXdt() {
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
                out.write(NodeConnections.CRLF);
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
                if (r.status() != 200) {
                    throw refusal(c, r);
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
                    throw refusalInstead(c, e); // the node may have refused (full) and stopped reading
                }
                Response r = c.readHead();
                if (r.status() != 201) {
                    throw refusal(c, r);
                }
                byte[] ref = c.readBody(r, NodeConnections.MAX_LINE);
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
        try {
            return NodeConnections.take();
        } catch (IOException e) {
            throw unavailable("cannot connect to the node", e);
        }
    }

    /** Reads a refusal's message and reason. */
    private static XdtException refusal(Conn c, Response r) throws IOException {
        String message = new String(c.readBody(r, NodeConnections.MAX_LINE), StandardCharsets.UTF_8);
        String reason = r.header(Headers.XDT_REASON);
        XdtException.Reason why;
        try {
            why = reason == null ? XdtException.Reason.UNAVAILABLE : XdtException.Reason.valueOf(reason.strip());
        } catch (IllegalArgumentException e) {
            why = XdtException.Reason.UNAVAILABLE;
        }
        return new XdtException(why, message.isEmpty() ? "the node answered " + r.status() : message);
    }

    /**
     * A write failed: if the node answered before it stopped reading (a refusal), that answer
     * is the failure to report; otherwise the write's.
     */
    private static IOException refusalInstead(Conn c, IOException writeFailure) {
        try {
            c.socket.setSoTimeout(2_000);
            Response r = c.readHead();
            if (r.status() != 201) {
                throw refusal(c, r);
            }
        } catch (IOException e) {
            // no answer: the write's failure stands
        }
        return writeFailure;
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
