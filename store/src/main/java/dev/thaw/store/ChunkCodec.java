package dev.thaw.store;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/*
 * Convergent chunk encryption with AES-256-GCM.
 *
 * Object layout: [1 byte format][ciphertext || 16-byte GCM tag]. The IV is not stored: it is
 * derived from the chunk key, IV = first 12 bytes of HMAC(chunkKey, "iv"). The additional
 * authenticated data is the object name, so an object copied under another name fails.
 *
 * Why a deterministic IV is safe here: GCM breaks when one (key, IV) pair encrypts two different
 * plaintexts. The chunk key is HMAC(secret, SHA-256(plaintext)), so a key is only ever used for
 * the one plaintext whose hash produced it (two plaintexts sharing a key would be a SHA-256
 * collision). Encrypting that plaintext again yields the same ciphertext, which is the point:
 * identical chunks dedupe. The cost is the usual one of convergent encryption: whoever holds the
 * secret can test whether a given plaintext is stored; without it, neither keys nor names can be
 * computed. Identical chunks therefore dedupe inside one installation (one secret) only.
 *
 * On read: the GCM tag catches a wrong secret, a truncated or modified object, and the length is
 * compared with the manifest's. The plaintext is not hashed again: the key is derived from the
 * plaintext's hash under the store secret, so a tag that verifies proves the object was sealed, by
 * a holder of the secret, from exactly the plaintext of that hash. Skipping the second SHA-256
 * pass makes a verified read about a third cheaper, which restores feel directly.
 *
 * Plain objects (format 2, only when a store is built with encryption off, for benchmarks) are
 * [1 byte format][plaintext]; with no tag to rely on they are re-hashed on every read.
 */
/** Seals and opens chunk objects. */
final class ChunkCodec {
    static final byte FORMAT = 1;
    static final byte FORMAT_PLAIN = 2;
    private static final int TAG_BITS = 128;
    private static final int IV_BYTES = 12;
    private static final byte[] IV_LABEL = "iv".getBytes(StandardCharsets.UTF_8);
    private static final HexFormat HEX = HexFormat.of();

    private final StoreKeys keys;

    ChunkCodec(StoreKeys keys) {
        this.keys = keys;
    }

    static byte[] sha256(byte[] data, int offset, int length) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(data, offset, length);
            return digest.digest();
        } catch (NoSuchAlgorithmException e) {
            throw StoreException.internal("SHA-256 is not available in this JDK", e);
        }
    }

    static String hex(byte[] bytes) {
        return HEX.formatHex(bytes);
    }

    static byte[] unhex(String hex) {
        return HEX.parseHex(hex);
    }

    /**
     * Encrypts {@code length} bytes of {@code plain} from {@code offset}, whose hash is {@code hash};
     * with {@code unencrypted}, wraps them as a plain object instead.
     */
    byte[] seal(byte[] hash, String objectName, byte[] plain, int offset, int length, boolean unencrypted) {
        if (unencrypted) {
            byte[] out = new byte[1 + length];
            out[0] = FORMAT_PLAIN;
            System.arraycopy(plain, offset, out, 1, length);
            return out;
        }
        try {
            Cipher cipher = cipher(Cipher.ENCRYPT_MODE, hash, objectName);
            byte[] out = new byte[1 + cipher.getOutputSize(length)];
            out[0] = FORMAT;
            int written = cipher.doFinal(plain, offset, length, out, 1);
            return written + 1 == out.length ? out : Arrays.copyOf(out, written + 1);
        } catch (GeneralSecurityException e) {
            throw StoreException.internal("cannot encrypt a chunk with AES-256-GCM", e);
        }
    }

    /**
     * Decrypts and verifies a chunk object.
     *
     * @throws IntegrityFailure if the object is not the chunk of that hash and length
     */
    byte[] open(byte[] hash, String objectName, byte[] sealed, int expectedLength, boolean unencrypted)
            throws IntegrityFailure {
        return open(hash, objectName, MemorySegment.ofArray(sealed), expectedLength, unencrypted);
    }

    /** {@link #open(byte[], String, byte[], int, boolean)} of an object lying in a segment (a memory-tier entry, lent). */
    byte[] open(byte[] hash, String objectName, MemorySegment sealed, int expectedLength, boolean unencrypted)
            throws IntegrityFailure {
        if (unencrypted) {
            return openPlain(hash, sealed.toArray(ValueLayout.JAVA_BYTE), expectedLength);
        }
        byte[] plain = new byte[checkSealed(sealed, expectedLength)];
        decrypt(hash, objectName, sealed, MemorySegment.ofArray(plain));
        return plain;
    }

    /**
     * {@link #open}, writing the plaintext into {@code dest} (exactly the chunk's length) instead of
     * a new array: a reader filling a large segment saves an allocation and a copy per chunk. If the
     * object fails verification, {@code dest} may hold anything; the caller must not use it.
     *
     * @throws IntegrityFailure if the object is not the chunk of that hash and length
     */
    void openInto(byte[] hash, String objectName, MemorySegment sealed, boolean unencrypted, MemorySegment dest)
            throws IntegrityFailure {
        int expectedLength = (int) dest.byteSize();
        if (unencrypted) {
            byte[] plain = openPlain(hash, sealed.toArray(ValueLayout.JAVA_BYTE), expectedLength);
            MemorySegment.copy(plain, 0, dest, ValueLayout.JAVA_BYTE, 0, expectedLength);
            return;
        }
        checkSealed(sealed, expectedLength);
        decrypt(hash, objectName, sealed, dest);
    }

    /** @return the plaintext length of a well-formed encrypted object, which must be {@code expectedLength} */
    private static int checkSealed(MemorySegment sealed, int expectedLength) throws IntegrityFailure {
        if (sealed.byteSize() < 1 + TAG_BITS / 8) {
            throw new IntegrityFailure("object is truncated (" + sealed.byteSize() + " bytes)");
        }
        byte format = sealed.get(ValueLayout.JAVA_BYTE, 0);
        if (format != FORMAT) {
            throw new IntegrityFailure("object format " + format + " is not an encrypted chunk");
        }
        long length = sealed.byteSize() - 1 - TAG_BITS / 8;
        if (length != expectedLength) {
            throw new IntegrityFailure("decrypted length " + length + " differs from the manifest's " + expectedLength);
        }
        return expectedLength;
    }

    private void decrypt(byte[] hash, String objectName, MemorySegment sealed, MemorySegment dest) throws IntegrityFailure {
        try {
            cipher(Cipher.DECRYPT_MODE, hash, objectName).doFinal(sealed.asSlice(1).asByteBuffer(), dest.asByteBuffer());
        } catch (AEADBadTagException e) {
            throw new IntegrityFailure("authentication failed (wrong store secret, truncated or modified object)");
        } catch (GeneralSecurityException e) {
            throw new IntegrityFailure("cannot decrypt: " + e.getMessage());
        }
    }

    private static byte[] openPlain(byte[] hash, byte[] object, int expectedLength) throws IntegrityFailure {
        if (object.length == 0 || object[0] != FORMAT_PLAIN) {
            throw new IntegrityFailure("object format " + (object.length == 0 ? "(empty)" : object[0]) + " is not a plain chunk");
        }
        if (object.length - 1 != expectedLength) {
            throw new IntegrityFailure("length " + (object.length - 1) + " differs from the manifest's " + expectedLength);
        }
        byte[] plain = Arrays.copyOfRange(object, 1, object.length);
        if (!MessageDigest.isEqual(hash, sha256(plain, 0, plain.length))) {
            throw new IntegrityFailure("plaintext does not hash to the chunk's SHA-256");
        }
        return plain;
    }

    private Cipher cipher(int mode, byte[] hash, String objectName) throws GeneralSecurityException {
        byte[] key = keys.chunkKey(hash);
        byte[] iv = Arrays.copyOf(StoreKeys.hmac(key, IV_LABEL), IV_BYTES);
        Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
        cipher.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_BITS, iv));
        Arrays.fill(key, (byte) 0);
        cipher.updateAAD(objectName.getBytes(StandardCharsets.UTF_8));
        return cipher;
    }
}
