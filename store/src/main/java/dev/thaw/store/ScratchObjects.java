package dev.thaw.store;

import java.io.InputStream;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Objects that belong to no snapshot, kept in the store's S3 tier under a namespace of their own:
 * the same client, endpoint, bucket and key prefix as the snapshots, never cached in the store's
 * memory or disk tiers and never touched by {@link SnapshotStore#gc()}. The caller encrypts and
 * verifies what it stores; the store moves bytes. Streamed both ways, so an object may be larger
 * than any buffer. Obtained from {@link SnapshotStore#scratch(String)}.
 *
 * <p>Every method throws {@link StoreException.Unavailable} when S3 cannot be reached.
 */
public interface ScratchObjects {

    /** An object as a listing sees it. */
    record Info(String key, long size, Instant lastModified) {
    }

    /**
     * Stores an object, replacing any of that key. {@code data} is called once per attempt (the S3
     * client retries a broken upload from the start) and must return {@code length} bytes.
     *
     * @param key the object's name inside the namespace
     */
    void put(String key, java.util.function.Supplier<InputStream> data, long length);

    /** @return the object's bytes, streamed (the caller closes the stream), or empty if there is none */
    Optional<InputStream> open(String key);

    /** Deletes the object if present. */
    void delete(String key);

    /** @return the objects whose key (inside the namespace) starts with {@code prefix} */
    List<Info> list(String prefix);
}
