package dev.thaw.store;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/*
 * The memory tier keeps its objects outside the Java heap. On the heap, a tier of a few hundred MB
 * to a few GB of 512 KiB arrays is what G1's concurrent cycles mark and its mixed collections copy,
 * again and again while restores allocate their plaintext, on the cores the restores need: the
 * restore benchmark (a 3 GB tier) had 258 GC pauses in 95 s with the tier on the heap and 124 with
 * it off the heap, same run otherwise. Off the heap, the GC sees one small Entry per object.
 *
 * Each object lives in its own shared arena, freed as soon as Caffeine drops the entry (eviction,
 * replacement, invalidation) and no reader is still copying out of it: an entry counts its users,
 * the cache holding one reference and each get() another while it copies, and the last one to let
 * go closes the arena. A get() that finds an entry already released reports a miss, as if it had
 * come a moment later. get() returns a fresh byte[] copy; read() lends the native bytes to the
 * chunk layer, which decrypts straight out of them: a copy per hit was an allocation as large as
 * the object (humongous to G1 for 4 MiB working-set chunks) and ~12% of a fetch thread's CPU.
 */
/** The memory tier: a Caffeine cache bounded by the bytes of the objects it holds (W-TinyLFU eviction), off-heap. */
final class MemoryTier implements ObjectTier {
    /** Per-entry overhead counted on top of the object's bytes (key, entry, arena, map node). */
    private static final int ENTRY_OVERHEAD = 256;

    private final Cache<String, Entry> cache;
    private final long capacity;
    private final AtomicLong nativeBytes = new AtomicLong();

    MemoryTier(long capacityBytes) {
        this.capacity = capacityBytes;
        this.cache = Caffeine.newBuilder()
                .maximumWeight(capacityBytes)
                .weigher((String k, Entry v) -> (int) v.size() + ENTRY_OVERHEAD) // objects are at most 64 MiB
                .removalListener((String k, Entry v, com.github.benmanes.caffeine.cache.RemovalCause cause) -> {
                    if (v != null) {
                        v.release();
                    }
                })
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
        put(key, MemorySegment.ofArray(data));
    }

    @Override
    public void put(String key, MemorySegment data) {
        cache.put(key, new Entry(data));
    }

    @Override
    public byte[] get(String key) {
        Entry e = cache.getIfPresent(key);
        return e == null ? null : e.copy();
    }

    @Override
    public <T> T read(String key, Reader<T> reader) throws IntegrityFailure {
        Entry e = cache.getIfPresent(key);
        return e == null ? null : e.read(reader);
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
                .map(e -> new ObjectInfo(e.getKey(), e.getValue().size(), Instant.EPOCH)).toList();
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

    /** Runs the cache's pending maintenance now (evictions are otherwise amortized over later calls). */
    void cleanUp() {
        cache.cleanUp();
    }

    /** @return bytes held outside the heap by objects not yet freed (tests: eviction and readers release them) */
    long nativeBytes() {
        return nativeBytes.get();
    }

    @Override
    public void close() {
        cache.invalidateAll();
    }

    /** One object in native memory, freed when the cache and every reader have let go of it. */
    private final class Entry {
        private final Arena arena = Arena.ofShared();
        private final MemorySegment bytes;
        /** The cache's reference plus one per reader copying; 0 once freed. */
        private final AtomicInteger users = new AtomicInteger(1);

        Entry(MemorySegment data) {
            bytes = arena.allocate(Math.max(1, data.byteSize()), 64).asSlice(0, data.byteSize());
            MemorySegment.copy(data, 0, bytes, 0, data.byteSize());
            nativeBytes.addAndGet(data.byteSize());
        }

        long size() {
            return bytes.byteSize();
        }

        /** @return a copy of the object, or null if it was freed meanwhile (a miss) */
        byte[] copy() {
            try {
                return read(object -> object.toArray(ValueLayout.JAVA_BYTE));
            } catch (IntegrityFailure impossible) {
                throw new AssertionError(impossible);
            }
        }

        /** @return what the reader made of the object in place, or null if it was freed meanwhile (a miss) */
        <T> T read(Reader<T> reader) throws IntegrityFailure {
            int n;
            do {
                n = users.get();
                if (n == 0) {
                    return null;
                }
            } while (!users.compareAndSet(n, n + 1));
            try {
                return reader.read(bytes);
            } finally {
                release();
            }
        }

        void release() {
            if (users.decrementAndGet() == 0) {
                nativeBytes.addAndGet(-bytes.byteSize());
                arena.close();
            }
        }
    }
}
