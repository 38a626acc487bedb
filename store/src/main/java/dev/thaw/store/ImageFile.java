package dev.thaw.store;

import java.util.List;

/**
 * One file of a snapshot's image directory.
 *
 * @param name the file's name inside the directory (no path separators)
 * @param size the file's size in bytes
 * @param chunks the file's chunks in order; together they cover {@code [0, size)} exactly
 */
public record ImageFile(String name, long size, List<ChunkRef> chunks) {
    /** Copies {@code chunks} so that the record is immutable. */
    public ImageFile {
        chunks = List.copyOf(chunks);
    }
}
