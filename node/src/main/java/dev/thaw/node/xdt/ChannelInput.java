package dev.thaw.node.xdt;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;

/**
 * A buffered stream over a blocking channel that can also read straight into a caller's buffer:
 * heads and small bodies go through its own buffer; {@link #read(ByteBuffer)} hands over what is
 * buffered, then reads from the socket into the caller's (native) buffer with no copy in between.
 */
public final class ChannelInput extends InputStream {
    private final ReadableByteChannel channel;
    private final ByteBuffer buffer;

    public ChannelInput(ReadableByteChannel channel, int bufferSize) {
        this.channel = channel;
        this.buffer = ByteBuffer.allocate(bufferSize).flip();
    }

    private boolean fill() throws IOException {
        buffer.clear();
        int n;
        do {
            n = channel.read(buffer);
        } while (n == 0);
        buffer.flip();
        return n > 0;
    }

    @Override
    public int read() throws IOException {
        if (!buffer.hasRemaining() && !fill()) {
            return -1;
        }
        return buffer.get() & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        if (buffer.hasRemaining()) {
            int n = Math.min(len, buffer.remaining());
            buffer.get(b, off, n);
            return n;
        }
        if (len >= buffer.capacity()) {
            int n;
            do {
                n = channel.read(ByteBuffer.wrap(b, off, len));
            } while (n == 0);
            return n;
        }
        if (!fill()) {
            return -1;
        }
        int n = Math.min(len, buffer.remaining());
        buffer.get(b, off, n);
        return n;
    }

    /**
     * Reads into {@code dst} (up to its remaining space): first what is buffered, else from the
     * channel straight into {@code dst}.
     *
     * @return the bytes read, or -1 at the end of the stream
     */
    public int read(ByteBuffer dst) throws IOException {
        if (!dst.hasRemaining()) {
            return 0;
        }
        if (buffer.hasRemaining()) {
            int n = Math.min(dst.remaining(), buffer.remaining());
            ByteBuffer slice = buffer.slice(buffer.position(), n);
            dst.put(slice);
            buffer.position(buffer.position() + n);
            return n;
        }
        int n;
        do {
            n = channel.read(dst);
        } while (n == 0);
        return n;
    }

    @Override
    public int available() {
        return buffer.remaining();
    }

    /** Does not close the channel (its owner does). */
    @Override
    public void close() {
    }
}
