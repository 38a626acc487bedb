package dev.thaw.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.thaw.core.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/*
 * Manifest objects: [1 byte format][12-byte random IV][AES-256-GCM(JSON) || tag], keyed by the
 * manifest key derived from the secret, with the object name as additional authenticated data.
 * Manifests are rewritten (a snapshot id may be put again), so their IV is random, never derived.
 * After decryption the manifest's own id must match the id asked for, and every file name and
 * chunk reference is checked for shape, so a manifest can never point outside its target.
 */
/** Seals and opens manifest objects. */
final class ManifestCodec {
    private static final byte FORMAT = 1;
    private static final int IV_BYTES = 12;
    private static final int TAG_BITS = 128;

    private final StoreKeys keys;
    private final SecureRandom random = new SecureRandom();
    private final ObjectMapper mapper = Json.mapper();

    ManifestCodec(StoreKeys keys) {
        this.keys = keys;
    }

    byte[] seal(SnapshotManifest manifest, String objectName) {
        byte[] iv = new byte[IV_BYTES];
        random.nextBytes(iv);
        try {
            Cipher cipher = cipher(Cipher.ENCRYPT_MODE, iv, objectName);
            byte[] ct = cipher.doFinal(mapper.writeValueAsBytes(manifest));
            byte[] out = new byte[1 + IV_BYTES + ct.length];
            out[0] = FORMAT;
            System.arraycopy(iv, 0, out, 1, IV_BYTES);
            System.arraycopy(ct, 0, out, 1 + IV_BYTES, ct.length);
            return out;
        } catch (GeneralSecurityException | IOException e) {
            throw StoreException.internal("cannot encrypt the manifest of snapshot '" + manifest.snapshotId() + "'", e);
        }
    }

    /**
     * @param expectedId the snapshot id asked for, or {@code null} when listing (any id is accepted)
     * @throws IntegrityFailure if the object does not decrypt, parse or check out
     */
    SnapshotManifest open(byte[] sealed, String objectName, String expectedId) throws IntegrityFailure {
        if (sealed.length < 1 + IV_BYTES + TAG_BITS / 8 || sealed[0] != FORMAT) {
            throw new IntegrityFailure("manifest object is truncated or of an unknown format");
        }
        byte[] json;
        try {
            json = cipher(Cipher.DECRYPT_MODE, Arrays.copyOfRange(sealed, 1, 1 + IV_BYTES), objectName)
                    .doFinal(sealed, 1 + IV_BYTES, sealed.length - 1 - IV_BYTES);
        } catch (AEADBadTagException e) {
            throw new IntegrityFailure("manifest authentication failed (wrong store secret, truncated or modified object)");
        } catch (GeneralSecurityException e) {
            throw new IntegrityFailure("cannot decrypt the manifest: " + e.getMessage());
        }
        SnapshotManifest manifest = parse(json);
        if (expectedId != null && !expectedId.equals(manifest.snapshotId())) {
            throw new IntegrityFailure("manifest belongs to another snapshot");
        }
        check(manifest);
        return manifest;
    }

    private SnapshotManifest parse(byte[] json) throws IntegrityFailure {
        try {
            return mapper.readValue(json, SnapshotManifest.class);
        } catch (IOException e) {
            throw new IntegrityFailure("manifest does not parse as JSON (" + e.getClass().getSimpleName() + ")");
        }
    }

    private static void check(SnapshotManifest m) throws IntegrityFailure {
        if (m.format() != SnapshotManifest.FORMAT || m.chunkSize() <= 0 || m.snapshotId() == null) {
            throw new IntegrityFailure("manifest has an unknown format or no chunk size");
        }
        for (ImageFile f : m.files()) {
            if (!Names.isFileName(f.name())) {
                throw new IntegrityFailure("manifest names an invalid file '" + f.name() + "'");
            }
            checkChunks(m.chunkSize(), f);
        }
    }

    private static void checkChunks(int chunkSize, ImageFile f) throws IntegrityFailure {
        long expected = 0;
        for (int i = 0; i < f.chunks().size(); i++) {
            ChunkRef c = f.chunks().get(i);
            boolean last = i == f.chunks().size() - 1;
            if (!last && c.length() != chunkSize) {
                throw new IntegrityFailure("manifest has a short chunk inside file '" + f.name() + "'");
            }
            boolean hashOk = c.zero() ? c.hash() == null : c.hash() != null && c.hash().matches("[0-9a-f]{64}");
            if (c.offset() != expected || c.length() <= 0 || c.length() > chunkSize || !hashOk) {
                throw new IntegrityFailure("manifest has an invalid chunk list for file '" + f.name() + "'");
            }
            expected += c.length();
        }
        if (expected != f.size()) {
            throw new IntegrityFailure("manifest's chunks of file '" + f.name() + "' do not cover its size");
        }
    }

    private Cipher cipher(int mode, byte[] iv, String objectName) throws GeneralSecurityException {
        byte[] key = keys.manifestKey();
        Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
        cipher.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_BITS, iv));
        Arrays.fill(key, (byte) 0);
        cipher.updateAAD(objectName.getBytes(StandardCharsets.UTF_8));
        return cipher;
    }
}
