package dev.thaw.store;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Where the bytes of one read came from: plaintext bytes and chunks per tier. A restore passes one
 * to every store read it makes and reports it (bytes by tier per restore); safe to share between
 * the threads that fetch in parallel.
 */
public final class FetchTally {
    private final Map<String, LongAdder> bytes = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> chunks = new ConcurrentHashMap<>();

    void add(String tier, long plainBytes) {
        bytes.computeIfAbsent(tier, t -> new LongAdder()).add(plainBytes);
        chunks.computeIfAbsent(tier, t -> new LongAdder()).increment();
    }

    /** @return plaintext bytes read per tier name ({@code memory}, {@code disk}, {@code s3}), sorted by name */
    public Map<String, Long> bytesByTier() {
        Map<String, Long> out = new TreeMap<>();
        bytes.forEach((tier, n) -> out.put(tier, n.sum()));
        return out;
    }

    /** @return chunks read per tier name, sorted by name */
    public Map<String, Long> chunksByTier() {
        Map<String, Long> out = new TreeMap<>();
        chunks.forEach((tier, n) -> out.put(tier, n.sum()));
        return out;
    }

    /** @return plaintext bytes read from every tier together */
    public long totalBytes() {
        return bytes.values().stream().mapToLong(LongAdder::sum).sum();
    }

    @Override
    public String toString() {
        return "FetchTally" + bytesByTier();
    }
}
