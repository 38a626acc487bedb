package dev.thaw.node.xdt;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.channels.WritableByteChannel;
import java.util.Map;
import java.util.Optional;

/**
 * An {@link HttpExchange} on a blocking socket channel whose head was read from {@code in} (a
 * buffered stream over the same channel). After the handler, {@link #finish()} drains what it left
 * of the body, so the next request on the connection starts where it should, and says whether
 * the connection may carry one.
 */
public final class SocketExchange implements HttpExchange {
    /** Bodies left unread longer than this are not drained: the connection is closed instead. */
    private static final long MAX_DRAIN = 1L << 30;

    private final SocketChannel channel;
    private final Http1.Head head;
    private final InputStream body;
    private final boolean keepAlive;
    private boolean answered;
    private boolean abandoned;

    /** @param in the buffered stream the head was read from */
    public SocketExchange(SocketChannel channel, InputStream in, Http1.Head head) throws IOException {
        this.channel = channel;
        this.head = head;
        this.body = Http1.body(in, head);
        this.keepAlive = !"close".equalsIgnoreCase(head.header("connection"));
    }

    /** @return the head */
    public Http1.Head head() {
        return head;
    }

    @Override
    public String method() {
        return head.first();
    }

    @Override
    public Optional<String> header(String name) {
        return Optional.ofNullable(head.header(name));
    }

    @Override
    public long contentLength() {
        try {
            return head.chunked() ? -1 : head.contentLength();
        } catch (IOException e) {
            return -1;
        }
    }

    @Override
    public InputStream body() {
        return body;
    }

    @Override
    public WritableByteChannel channel() {
        return channel;
    }

    @Override
    public void respond(int status, Map<String, String> headers, byte[] bytes) throws IOException {
        answered = true;
        byte[] h = Http1.responseHead(status, headers, bytes.length, keepAlive);
        ByteBuffer all = ByteBuffer.allocate(h.length + bytes.length).put(h).put(bytes).flip();
        Http1.writeFully(channel, all);
    }

    @Override
    public void sendHead(int status, Map<String, String> headers, long contentLength) throws IOException {
        answered = true;
        Http1.writeFully(channel, ByteBuffer.wrap(Http1.responseHead(status, headers, contentLength, keepAlive)));
    }

    @Override
    public void abandon() {
        abandoned = true;
    }

    /**
     * Drains the rest of the body.
     *
     * @return whether the connection may carry another request
     */
    public boolean finish() {
        if (abandoned || !answered || !keepAlive) {
            return false;
        }
        try {
            long drained = 0;
            byte[] skip = new byte[64 * 1024];
            for (int n; (n = body.read(skip)) > 0; ) {
                drained += n;
                if (drained > MAX_DRAIN) {
                    return false;
                }
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
