package dev.thaw.node.snapshot;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Plaintext buffers that the node's page sources reuse, one size per chunk size, up to a bound.
 *
 * <p>Why: an eager restore streams its whole image through a page source, chunk by chunk. With a
 * new array for every decrypted chunk, a Spring Boot restore allocated ~155 MB of plaintext, about
 * half of all it allocated, and the collections this caused ran on the two cores the restore needs.
 * Buffers returned here are handed out again, so a node that restores keeps a few dozen chunks'
 * worth of arrays and allocates none.
 *
 * <p>A buffer handed out holds whatever its last user left there. Callers overwrite the part they
 * use before reading it and never read past it. Thread-safe. Not final only so that tests can see
 * what is given back.
 */
class ChunkBuffers {
    private final long maxPooledBytes;
    private final Map<Integer, ArrayDeque<byte[]>> free = new HashMap<>();
    private long pooledBytes;
    private long allocated;

    /** @param maxPooledBytes how many bytes of free buffers to keep; buffers given back past it are dropped */
    ChunkBuffers(long maxPooledBytes) {
        this.maxPooledBytes = maxPooledBytes;
    }

    /** @return a buffer of exactly {@code size} bytes, reused if one is free */
    synchronized byte[] take(int size) {
        ArrayDeque<byte[]> ofSize = free.get(size);
        byte[] buffer = ofSize == null ? null : ofSize.pollLast();
        if (buffer != null) {
            pooledBytes -= size;
            return buffer;
        }
        allocated++;
        return new byte[size];
    }

    /** Takes back a buffer nobody uses any more. */
    synchronized void give(byte[] buffer) {
        if (pooledBytes + buffer.length > maxPooledBytes) {
            return;
        }
        free.computeIfAbsent(buffer.length, size -> new ArrayDeque<>()).addLast(buffer);
        pooledBytes += buffer.length;
    }

    /** @return how many buffers were allocated because none of the size was free */
    synchronized long allocated() {
        return allocated;
    }

    /** @return the bytes of the free buffers kept now */
    synchronized long pooledBytes() {
        return pooledBytes;
    }
}
