package dev.thaw.store;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.time.Instant;
import java.util.List;

/** The memory tier: a Caffeine cache bounded by the bytes of the objects it holds (W-TinyLFU eviction). */
final class MemoryTier implements ObjectTier {
    /** Per-entry overhead counted on top of the object's bytes (key, array header, map node). */
    private static final int ENTRY_OVERHEAD = 160;

    private final Cache<String, byte[]> cache;
    private final long capacity;

    MemoryTier(long capacityBytes) {
        this.capacity = capacityBytes;
        this.cache = Caffeine.newBuilder()
                .maximumWeight(capacityBytes)
                .weigher((String k, byte[] v) -> v.length + ENTRY_OVERHEAD)
                .executor(Runnable::run)
                .build();
    }

    @Override
    public String name() {
        return "memory";
    }

    @Override
    public boolean local() {
        return true;
    }

    @Override
    public void put(String key, byte[] data) {
        cache.put(key, data);
    }

    @Override
    public byte[] get(String key) {
        return cache.getIfPresent(key);
    }

    @Override
    public boolean exists(String key) {
        return cache.asMap().containsKey(key);
    }

    @Override
    public void delete(String key) {
        cache.invalidate(key);
    }

    @Override
    public List<ObjectInfo> list(String prefix) {
        return cache.asMap().entrySet().stream().filter(e -> e.getKey().startsWith(prefix))
                .map(e -> new ObjectInfo(e.getKey(), e.getValue().length, Instant.EPOCH)).toList();
    }

    @Override
    public long storedBytes() {
        return cache.policy().eviction().map(e -> e.weightedSize().orElse(-1L)).orElse(-1L);
    }

    @Override
    public long capacityBytes() {
        return capacity;
    }

    /** Drops every object (tests, and callers that want a cold cache). */
    void clear() {
        cache.invalidateAll();
    }

    @Override
    public void close() {
        cache.invalidateAll();
    }
}
