package dev.thaw.node.xdt;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/*
 * The reference format: xdt2.<body>.<tag>, both base64url without padding.
 *
 *   body = nonce (12 bytes) || AES-256-CTR(encKey, nonce || 0^4, fields)
 *   tag  = HMAC-SHA256(macKey, "xdt2." + <body as written>)
 *   fields = objectId (16) || idTag (16) || flags (1: bit 0 durable) || size (8) || expiresAtMs (8) || reads (4) || nodeId, nodeAddress, producer (UTF, each with a
 *            2-byte length) || readers count (1) || readers (UTF each)
 *   idTag = HMAC-SHA256(idKey, objectId), first 16 bytes
 *
 * Encrypt-then-MAC: the tag covers the ciphertext, so a reference is checked before anything in it
 * is believed, and user code learns nothing from it (not where the data lives: the node's address
 * is inside the ciphertext). Each of encKey, macKey and idKey is derived from the cluster's
 * transfer key for that one use.
 *
 * A tag that does not verify is told apart as ALTERED or FORGED by the idTag: the fields are
 * decrypted anyway (CTR turns a changed ciphertext bit into the same plaintext bit), and when the
 * object id still carries a valid idTag, the reference is one a node of this cluster made, then
 * changed (a raised read count, a later expiry, a reader list removed): ALTERED. Otherwise nothing
 * in it came from a node holding the key: FORGED. Only the verdict is used; nothing of a reference
 * whose tag fails is acted on. Something not of this shape at all is MALFORMED.
 *
 * The reference carries no digest of the data: a put is done once its bytes are in the buffer, not
 * once they are hashed. A digest is made where bytes leave the node that holds them (a pull by
 * another node, a durable copy) and travels with them, signed (XdtService, DurableCopies). xdt1
 * references (which carried a SHA-256) are MALFORMED here.
 */
/** Signs and encrypts references, and verifies and opens them (see the comment above). */
public final class ReferenceCodec {
    static final String PREFIX = "xdt2.";
    /** Longer strings are not references (a reference with 32 long reader names is under 3,000 characters). */
    static final int MAX_LENGTH = 4096;
    private static final int NONCE = 12;
    private static final int ID = 16;
    private static final int ID_TAG = 16;
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getUrlDecoder();

    private final SecretKeySpec encKey;
    private final byte[] macKey;
    private final byte[] idKey;
    private final SecureRandom random = new SecureRandom();

    public ReferenceCodec(TransferKey key) {
        this.encKey = new SecretKeySpec(key.derive("reference-encryption"), "AES");
        this.macKey = key.derive("reference-signature");
        this.idKey = key.derive("object-id");
    }

    /** @return a new random object id, 32 hex digits */
    String newObjectId() {
        byte[] id = new byte[ID];
        random.nextBytes(id);
        return HexFormat.of().formatHex(id);
    }

    /** @return the reference as a string that fits anywhere a JSON string does */
    public String seal(Reference r) {
        byte[] fields = encode(r);
        byte[] nonce = new byte[NONCE];
        random.nextBytes(nonce);
        byte[] body = new byte[NONCE + fields.length];
        System.arraycopy(nonce, 0, body, 0, NONCE);
        System.arraycopy(ctr(nonce, fields), 0, body, NONCE, fields.length);
        String signed = PREFIX + B64.encodeToString(body);
        return signed + "." + B64.encodeToString(TransferKey.hmac(macKey, signed.getBytes(StandardCharsets.US_ASCII)));
    }

    /**
     * Verifies and decrypts a reference.
     *
     * @throws Refusal {@code MALFORMED}, {@code FORGED} or {@code ALTERED}, saying which
     */
    public Reference open(String token) {
        if (token == null || token.length() > MAX_LENGTH || !token.startsWith(PREFIX)) {
            throw malformed();
        }
        int dot = token.lastIndexOf('.');
        if (dot <= PREFIX.length()) {
            throw malformed();
        }
        String signed = token.substring(0, dot);
        byte[] body;
        byte[] tag;
        try {
            body = B64D.decode(token.substring(PREFIX.length(), dot));
            tag = B64D.decode(token.substring(dot + 1));
        } catch (IllegalArgumentException e) {
            throw malformed();
        }
        if (body.length < NONCE + ID + ID_TAG + 1 || tag.length != 32) {
            throw malformed();
        }
        byte[] fields = ctr(Arrays.copyOf(body, NONCE), Arrays.copyOfRange(body, NONCE, body.length));
        byte[] expected = TransferKey.hmac(macKey, signed.getBytes(StandardCharsets.US_ASCII));
        if (!MessageDigest.isEqual(expected, tag)) {
            throw genuineId(fields)
                    ? new Refusal(Refusal.Reason.ALTERED, "the reference was changed after a node of this cluster made it"
                            + " (its signature no longer verifies)")
                    : new Refusal(Refusal.Reason.FORGED, "the reference was not made by a node of this cluster (its"
                            + " signature does not verify with the cluster's transfer key)");
        }
        try {
            return decode(fields);
        } catch (IOException | RuntimeException e) {
            // signed by a node with the key, yet unreadable: a node of another version; not the caller's doing
            throw new Refusal(Refusal.Reason.MALFORMED, "the reference is signed but its fields cannot be read: "
                    + e.getMessage());
        }
    }

    private static Refusal malformed() {
        return new Refusal(Refusal.Reason.MALFORMED, "not an XDT reference: a reference is the string put() returned,"
                + " starting with '" + PREFIX + "'");
    }

    private boolean genuineId(byte[] fields) {
        if (fields.length < ID + ID_TAG) {
            return false;
        }
        byte[] idTag = Arrays.copyOf(TransferKey.hmac(idKey, Arrays.copyOf(fields, ID)), ID_TAG);
        return MessageDigest.isEqual(idTag, Arrays.copyOfRange(fields, ID, ID + ID_TAG));
    }

    private byte[] encode(Reference r) {
        try {
            ByteArrayOutputStream b = new ByteArrayOutputStream(256);
            DataOutputStream out = new DataOutputStream(b);
            byte[] id = HexFormat.of().parseHex(r.objectId());
            if (id.length != ID) {
                throw new IllegalArgumentException("an object id has 32 hex digits: " + r.objectId());
            }
            out.write(id);
            out.write(TransferKey.hmac(idKey, id), 0, ID_TAG);
            out.writeByte(r.durable() ? 1 : 0);
            out.writeLong(r.size());
            out.writeLong(r.expiresAtMs());
            out.writeInt(r.reads());
            out.writeUTF(r.nodeId());
            out.writeUTF(r.nodeAddress());
            out.writeUTF(r.producer());
            out.writeByte(r.readers().size());
            for (String reader : r.readers()) {
                out.writeUTF(reader);
            }
            return b.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Reference decode(byte[] fields) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(fields));
        byte[] id = in.readNBytes(ID);
        in.skipNBytes(ID_TAG);
        boolean durable = (in.readByte() & 1) != 0;
        long size = in.readLong();
        long expires = in.readLong();
        int reads = in.readInt();
        String nodeId = in.readUTF();
        String address = in.readUTF();
        String producer = in.readUTF();
        int n = in.readUnsignedByte();
        List<String> readers = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            readers.add(in.readUTF());
        }
        if (in.available() != 0 || size < 0 || reads < 1) {
            throw new IOException("unexpected field values");
        }
        return new Reference(nodeId, address, HexFormat.of().formatHex(id), producer, size, expires, reads, readers,
                durable);
    }

    private byte[] ctr(byte[] nonce, byte[] data) {
        try {
            Cipher c = Cipher.getInstance("AES/CTR/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, encKey, new IvParameterSpec(Arrays.copyOf(nonce, 16)));
            return c.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no AES/CTR", e);
        }
    }
}
