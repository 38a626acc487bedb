package dev.thaw.store;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/*
 * Key and name derivation. Everything derives from the store secret by HMAC-SHA256 with a distinct
 * label per purpose (domain separation), so no two purposes ever share a key:
 *
 *   chunk key    = HMAC(HMAC(secret, "thaw-store/v1/chunk-key"),  sha256(plaintext))
 *   chunk name   = "c/" + hex(HMAC(HMAC(secret, "thaw-store/v1/chunk-name"), sha256(plaintext)))
 *   plain chunk  = "c/" + hex(HMAC(HMAC(secret, "thaw-store/v1/plain-chunk-name"), sha256(plaintext)))
 *   manifest key = HMAC(secret, "thaw-store/v1/manifest-key")
 *   manifest name= "m/" + hex(HMAC(HMAC(secret, "thaw-store/v1/manifest-name"), utf8(snapshotId)))
 *
 * Without the secret, a name reveals neither the plaintext hash (so nobody can test whether a
 * known page is stored) nor the snapshot id (function names stay private). Chunks stored without
 * encryption (a benchmark setting) are named apart, so an encrypted snapshot never deduplicates
 * against, and so never reads, a plaintext object.
 */
/** Derives chunk keys and object names from the store secret; holds the only copies of key material. */
final class StoreKeys {
    private static final String HMAC = "HmacSHA256";
    private static final HexFormat HEX = HexFormat.of();

    private final byte[] chunkKeyRoot;
    private final byte[] chunkNameRoot;
    private final byte[] plainChunkNameRoot;
    private final byte[] manifestKey;
    private final byte[] manifestNameRoot;
    /** Manifest object names by snapshot id, bounded: ids come from requests too, including unknown ones. */
    private final com.github.benmanes.caffeine.cache.Cache<String, String> manifestObjects =
            com.github.benmanes.caffeine.cache.Caffeine.newBuilder().maximumSize(4096).build();

    StoreKeys(byte[] secret) {
        chunkKeyRoot = hmac(secret, label("chunk-key"));
        chunkNameRoot = hmac(secret, label("chunk-name"));
        plainChunkNameRoot = hmac(secret, label("plain-chunk-name"));
        manifestKey = hmac(secret, label("manifest-key"));
        manifestNameRoot = hmac(secret, label("manifest-name"));
    }

    /** @return the AES-256 key of the chunk whose plaintext hashes to {@code hash} */
    byte[] chunkKey(byte[] hash) {
        return hmac(chunkKeyRoot, hash);
    }

    /** @return the object name of the encrypted chunk whose plaintext hashes to {@code hash} */
    String chunkObject(byte[] hash) {
        return "c/" + HEX.formatHex(hmac(chunkNameRoot, hash));
    }

    /** @return the object name of the chunk whose plaintext hashes to {@code hash}, stored as {@code m} stores chunks */
    String chunkObject(byte[] hash, boolean plain) {
        return plain ? "c/" + HEX.formatHex(hmac(plainChunkNameRoot, hash)) : chunkObject(hash);
    }

    /** @return the object name of chunk {@code ref} of the snapshot {@code m} (not a zero chunk) */
    String chunkObject(SnapshotManifest m, ChunkRef ref) {
        return chunkObject(ChunkCodec.unhex(ref.hash()), m.plainChunks());
    }

    /** @return the object name of the manifest of {@code snapshotId} */
    String manifestObject(String snapshotId) {
        // every read of a snapshot looks its manifest up by this name: one HMAC per snapshot, not per read
        return manifestObjects.get(snapshotId,
                id -> "m/" + HEX.formatHex(hmac(manifestNameRoot, id.getBytes(StandardCharsets.UTF_8))));
    }

    /** @return the AES-256 key of every manifest (each encrypted with a fresh random IV) */
    byte[] manifestKey() {
        return manifestKey.clone();
    }

    static byte[] hmac(byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance(HMAC);
            mac.init(new SecretKeySpec(key, HMAC));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw StoreException.internal("HMAC-SHA256 is not available in this JDK", e);
        }
    }

    private static byte[] label(String purpose) {
        return ("thaw-store/v1/" + purpose).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "StoreKeys[***]";
    }
}
