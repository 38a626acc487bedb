package dev.thaw.store;

import java.time.Instant;
import java.util.List;

/**
 * One place encrypted objects can live. Keys are object names ({@code c/<hex>} for chunks,
 * {@code m/<hex>} for manifests). Tiers store bytes and never interpret them: verification is the
 * chunk layer's job. A tier that cannot be reached throws {@link StoreException.Unavailable}.
 */
interface ObjectTier extends AutoCloseable {
    /** An object as a listing sees it. */
    record ObjectInfo(String key, long size, Instant lastModified) {
    }

    /** @return the tier's name as shown in stats and messages */
    String name();

    /** @return whether the tier is a local cache whose corrupted copies may be discarded and refetched */
    boolean local();

    /** Stores {@code data} under {@code key}, replacing any object of that key. */
    void put(String key, byte[] data);

    /**
     * Stores the bytes of {@code data} (which the caller may reuse once this returns); by default
     * through a copy into an array, which the memory tier avoids.
     */
    default void put(String key, java.lang.foreign.MemorySegment data) {
        put(key, data.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    }

    /** @return the object's bytes, or {@code null} if the tier does not hold it */
    byte[] get(String key);

    /** Reads an object where it lies, for as long as {@link #read} runs. */
    @FunctionalInterface
    interface Reader<T> {
        /** @return a non-null result; {@code object} must not be used after returning */
        T read(java.lang.foreign.MemorySegment object) throws IntegrityFailure;
    }

    /**
     * Hands the object to {@code reader} without a copy of its own where the tier can (the memory
     * tier lends its native memory); by default, as {@link #get} returned it.
     *
     * @return what {@code reader} returned, or {@code null} if the tier does not hold the object
     */
    default <T> T read(String key, Reader<T> reader) throws IntegrityFailure {
        byte[] data = get(key);
        return data == null ? null : reader.read(java.lang.foreign.MemorySegment.ofArray(data));
    }

    boolean exists(String key);

    /** Deletes the object if present. */
    void delete(String key);

    /** @return every object whose key starts with {@code prefix} */
    List<ObjectInfo> list(String prefix);

    /** @return bytes held now, or -1 if unknown */
    long storedBytes();

    /** @return the bound on bytes held, or -1 if unbounded */
    long capacityBytes();

    @Override
    void close();
}
