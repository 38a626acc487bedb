package dev.thaw.node.xdt;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Signs and checks the requests nodes make of each other. A pull carries the reference (the
 * capability: only a node holding the cluster's key made it), the function that reads it, the
 * asking node and the time, under an HMAC-SHA256 with a key derived from the transfer key for this
 * one use. A function holds references but never the key: it cannot call another node's transfer
 * listener in the name of a function of its choice, and a captured request is accepted for
 * {@link #WINDOW_MS} only (and its reference's reads bound what a replay could take).
 *
 * The answer vouches for its data the same way: after the last byte, trailers carry the SHA-256
 * the producer hashed as the bytes went out and an HMAC-SHA256 (its own derived key) over that
 * digest, the object, its size and the request's signature, so that neither data nor digest can
 * be changed on the way, and no other answer's digest can be passed off for this one.
 */
final class PeerAuth {
    static final String REFERENCE = "Thaw-Xdt-Reference";
    static final String READER = "Thaw-Xdt-Reader";
    static final String NODE = "Thaw-Xdt-Node";
    static final String TIME = "Thaw-Xdt-Time";
    static final String SIGNATURE = "Thaw-Xdt-Signature";
    static final String SHA256 = "Thaw-Xdt-Sha256";
    static final String DIGEST_SIGNATURE = "Thaw-Xdt-Digest-Signature";
    /** How far a request's time may be from the producer's clock. */
    static final long WINDOW_MS = 60_000;

    private final byte[] key;
    private final byte[] digestKey;

    PeerAuth(TransferKey transferKey) {
        this.key = transferKey.derive("peer-request");
        this.digestKey = transferKey.derive("peer-digest");
    }

    /** @return the trailers of an answer to the pull signed {@code requestSignature}: its data's digest, signed */
    Map<String, String> signDigest(String requestSignature, String objectId, long size, byte[] sha256) {
        String hex = HexFormat.of().formatHex(sha256);
        Map<String, String> t = new LinkedHashMap<>();
        t.put(SHA256, hex);
        t.put(DIGEST_SIGNATURE, digestSignature(requestSignature, objectId, size, hex));
        return t;
    }

    /**
     * @param trailers the answer's trailers, by lower-case name
     * @return the SHA-256 they vouch for
     * @throws Refusal {@code CORRUPTED} when there is none, or its signature does not verify
     */
    byte[] verifyDigest(Map<String, String> trailers, String requestSignature, String objectId, long size, String from) {
        String hex = trailers.get(SHA256.toLowerCase(java.util.Locale.ROOT));
        String sig = trailers.get(DIGEST_SIGNATURE.toLowerCase(java.util.Locale.ROOT));
        if (hex == null || sig == null || !hex.matches("[0-9a-f]{64}")) {
            throw new Refusal(Refusal.Reason.CORRUPTED, "the data from " + from + " came without the signed SHA-256"
                    + " that must follow it");
        }
        byte[] expected = digestSignature(requestSignature, objectId, size, hex).getBytes(StandardCharsets.US_ASCII);
        if (!MessageDigest.isEqual(expected, sig.getBytes(StandardCharsets.US_ASCII))) {
            throw new Refusal(Refusal.Reason.CORRUPTED, "the SHA-256 that came with the data from " + from + " is not"
                    + " signed by a node of this cluster: it was changed on the way");
        }
        return HexFormat.of().parseHex(hex);
    }

    private String digestSignature(String requestSignature, String objectId, long size, String hex) {
        String text = requestSignature + "\n" + objectId + "\n" + size + "\n" + hex;
        return Base64.getUrlEncoder().withoutPadding().encodeToString(
                TransferKey.hmac(digestKey, text.getBytes(StandardCharsets.UTF_8)));
    }

    /** @return the headers of a signed pull */
    Map<String, String> sign(String path, String reference, String reader, String node, long nowMs) {
        Map<String, String> h = new LinkedHashMap<>();
        h.put(REFERENCE, reference);
        h.put(READER, reader);
        h.put(NODE, node);
        h.put(TIME, Long.toString(nowMs));
        h.put(SIGNATURE, signature(path, reference, reader, node, nowMs));
        return h;
    }

    /**
     * @throws Refusal {@code FORGED} when the request is not signed by a node of this cluster, or
     *     signed too long ago (or ahead)
     */
    void verify(String path, Http1.Head head, long nowMs) {
        String reference = head.header(REFERENCE);
        String reader = head.header(READER);
        String node = head.header(NODE);
        String time = head.header(TIME);
        String sig = head.header(SIGNATURE);
        if (reference == null || reader == null || node == null || time == null || sig == null) {
            throw new Refusal(Refusal.Reason.FORGED, "a pull must be signed by a node of this cluster (headers "
                    + REFERENCE + ", " + READER + ", " + NODE + ", " + TIME + ", " + SIGNATURE + ")");
        }
        long t;
        try {
            t = Long.parseLong(time);
        } catch (NumberFormatException e) {
            throw new Refusal(Refusal.Reason.FORGED, "the pull's time is not a number");
        }
        byte[] expected = signature(path, reference, reader, node, t).getBytes(StandardCharsets.US_ASCII);
        if (!MessageDigest.isEqual(expected, sig.getBytes(StandardCharsets.US_ASCII))) {
            throw new Refusal(Refusal.Reason.FORGED, "the pull is not signed by a node of this cluster (its signature"
                    + " does not verify with the cluster's transfer key)");
        }
        if (Math.abs(nowMs - t) > WINDOW_MS) {
            throw new Refusal(Refusal.Reason.FORGED, "the pull was signed " + (nowMs - t) / 1000 + " s from this node's"
                    + " clock, more than the " + WINDOW_MS / 1000 + " s allowed (are the nodes' clocks in sync?)");
        }
    }

    private String signature(String path, String reference, String reader, String node, long t) {
        String digest = HexFormat.of().formatHex(
                XdtService.sha256().digest(reference.getBytes(StandardCharsets.US_ASCII)));
        String text = "GET\n" + path + "\n" + digest + "\n" + reader + "\n" + node + "\n" + t;
        return Base64.getUrlEncoder().withoutPadding().encodeToString(
                TransferKey.hmac(key, text.getBytes(StandardCharsets.UTF_8)));
    }
}
