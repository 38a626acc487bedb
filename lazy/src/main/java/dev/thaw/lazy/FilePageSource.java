package dev.thaw.lazy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads page files from an image directory. One channel per file, opened on first use: positional
 * reads need no locking, and a fault costs one {@code pread}. The channels are closed by
 * {@link #close()}, or by a cleaner once the source is unreachable, so a caller that forgets to
 * close it does not leak descriptors.
 */
final class FilePageSource implements PageSource {
    private static final Cleaner CLEANER = Cleaner.create();

    private final Path imagesDir;
    private final Channels channels = new Channels();
    private final Cleaner.Cleanable cleanable;
    private volatile boolean closed;

    FilePageSource(Path imagesDir) {
        this.imagesDir = imagesDir;
        this.cleanable = CLEANER.register(this, channels);
    }

    /** The open channels, and the cleaner's action, which must not refer to the source itself. */
    private record Channels(ConcurrentHashMap<Long, FileChannel> byPagesId) implements Runnable {
        Channels() {
            this(new ConcurrentHashMap<>());
        }

        @Override
        public void run() {
            for (FileChannel c : byPagesId.values()) {
                try {
                    c.close();
                } catch (IOException e) {
                    // a read-only channel loses nothing when its close fails
                }
            }
            byPagesId.clear();
        }
    }

    @Override
    public void read(long pagesId, long offset, MemorySegment dst) {
        if (closed) {
            throw new IllegalStateException("the page source for " + imagesDir + " is closed");
        }
        FileChannel channel = channels.byPagesId().computeIfAbsent(pagesId, this::open);
        ByteBuffer buffer = dst.asByteBuffer();
        try {
            while (buffer.hasRemaining()) {
                int n = channel.read(buffer, offset + buffer.position());
                if (n < 0) {
                    throw new LazyPagesException(ImageIndex.pagesFileName(pagesId) + " in " + imagesDir + " ends before offset "
                            + (offset + buffer.position()));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read pages-" + pagesId + ".img in " + imagesDir, e);
        }
    }

    private FileChannel open(long pagesId) {
        Path file = imagesDir.resolve(ImageIndex.pagesFileName(pagesId));
        try {
            return FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + file, e);
        }
    }

    @Override
    public void close() {
        closed = true;
        cleanable.clean();
    }

    @Override
    public String toString() {
        return "files in " + imagesDir;
    }
}
