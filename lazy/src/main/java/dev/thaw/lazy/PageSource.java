package dev.thaw.lazy;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * Where the bytes of an image's page files come from. The node backs it with its snapshot store;
 * {@link #files(Path)} reads an image directory on local disk.
 *
 * <p>Implementations must be safe to call from several threads (the daemon's thread and whoever
 * fetches a working set for prefetch) and must never return without filling {@code dst} entirely:
 * a page the daemon installs cannot be taken back, so a failure has to be an exception. The daemon
 * never closes a source; whoever made it does, once no server uses it any more.
 */
@FunctionalInterface
public interface PageSource extends AutoCloseable {

    /**
     * Fills {@code dst} with bytes {@code [offset, offset + dst.byteSize())} of the image file
     * {@code pages-<pagesId>.img}.
     *
     * @param pagesId the {@code pages_id} of a pagemap, naming the file
     * @param offset a byte offset in the file, a multiple of 4096
     * @param dst where to put the bytes; its size is a multiple of 4096
     * @throws RuntimeException when the bytes cannot be had (store down, chunk corrupted, short file)
     */
    void read(long pagesId, long offset, MemorySegment dst);

    /**
     * As {@link #read}, for a reader going through the file in increasing offsets (a stream of a
     * whole image): a source may start fetching what follows. {@link #read} serves faults, which
     * land anywhere and must not trigger reading ahead.
     */
    default void readInOrder(long pagesId, long offset, MemorySegment dst) {
        read(pagesId, offset, dst);
    }

    /**
     * @return the size of the pieces this source reads and decrypts whole (a store's chunk size), so
     *     that reading any byte of one costs as much as reading all of it; 0 if reads cost by the byte
     */
    default long readUnit() {
        return 0;
    }

    /** Releases what the source holds (open files, connections); nothing by default. */
    @Override
    default void close() {
    }

    /**
     * @param imagesDir a CRIU image directory
     * @return a source reading {@code imagesDir/pages-<id>.img} with positional reads; closing it
     *     closes the files
     */
    static PageSource files(Path imagesDir) {
        return new FilePageSource(imagesDir);
    }
}
