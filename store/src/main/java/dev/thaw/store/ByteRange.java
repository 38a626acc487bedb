package dev.thaw.store;

/**
 * A byte range of an image file.
 *
 * @param offset the first byte
 * @param length how many bytes
 */
public record ByteRange(long offset, long length) {
    /** Checks that the range is not negative. */
    public ByteRange {
        if (offset < 0 || length < 0) {
            throw new IllegalArgumentException("negative byte range [" + offset + ", +" + length + ")");
        }
    }

    /** @return the offset just past the range */
    public long end() {
        return offset + length;
    }

    /** @return whether this range and [{@code from}, {@code to}) overlap */
    public boolean overlaps(long from, long to) {
        return offset < to && from < end();
    }
}
