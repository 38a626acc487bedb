package dev.thaw.store;

/**
 * One chunk of an image file, in file order.
 *
 * @param hash lower-case hex SHA-256 of the chunk's plaintext, {@code null} for a zero chunk
 * @param offset where the chunk starts in its file (a multiple of the snapshot's chunk size)
 * @param length the chunk's length in bytes (the chunk size, or less for a file's last chunk)
 * @param zero whether every byte of the chunk is zero (such chunks are not stored)
 */
public record ChunkRef(String hash, long offset, int length, boolean zero) {
}
