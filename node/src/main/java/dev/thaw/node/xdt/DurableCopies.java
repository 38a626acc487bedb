package dev.thaw.node.xdt;

import dev.thaw.store.ScratchObjects;
import dev.thaw.store.StoreException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/*
 * The S3 copies of durable puts, in the snapshot store's S3 tier under its "xdt/" namespace (the
 * store's client, endpoint, bucket and prefix: every node of a cluster that shares the store finds
 * every other node's copies).
 *
 * A copy is written in the background once the put is buffered, from the buffer itself (pinned
 * meanwhile, without counting as a read), encrypted with AES-256-CTR under a key derived from the
 * transfer key, the object id as the counter's start (ids are random and never reused). The copy
 * is the data followed by its SHA-256 (hashed as the upload reads the buffer) and a tag,
 * HMAC-SHA256 under another derived key over the object id, the size and that digest, all
 * encrypted: whoever reads a copy hashes the data as it passes and checks the digest and its tag
 * at the end (VerifyingRelay), so a copy changed in S3, or another object's copy put in its place,
 * is refused as CORRUPTED.
 *
 * Its key is "<expiry, 13 digits of ms since the epoch>-<object id>", so any node can tell from a
 * listing alone which copies expired. A copy is deleted when its object is freed on the producing
 * node (used up or expired; an upload still running is deleted when it ends), and by any node's
 * sweep once it expired (the producing node may be gone).
 */
/** Durable copies of put data in S3 (see the comment above). */
final class DurableCopies {
    private static final System.Logger LOG = System.getLogger("thaw.xdt");
    /** Expired copies stay this long before a sweep deletes them (a read that started just in time). */
    static final long SWEEP_GRACE_MS = 60_000;

    private final ScratchObjects objects;
    /** The digest and its tag after a copy's data. */
    static final int TRAILER = 64;

    private final SecretKeySpec key;
    private final byte[] tagKey;
    private final Executor uploads;
    private final Consumer<Upload> done;

    /** One upload's state, attached to its buffered object. */
    final class Upload {
        final String objectId;
        final String key;
        final long size;
        /** null while running; true once uploaded; false when it failed. */
        volatile Boolean uploaded;
        volatile String failure;
        private boolean discarded;
        private boolean finished;

        Upload(String objectId, long expiresAtMs, long size) {
            this.objectId = objectId;
            this.key = key(objectId, expiresAtMs);
            this.size = size;
        }
    }

    /** @param done told when an upload ended, uploaded or not */
    DurableCopies(ScratchObjects objects, TransferKey transferKey, Executor uploads, Consumer<Upload> done) {
        this.objects = objects;
        this.key = new SecretKeySpec(transferKey.derive("durable-copy"), "AES");
        this.tagKey = transferKey.derive("durable-copy-digest");
        this.uploads = uploads;
        this.done = done;
    }

    static String key(String objectId, long expiresAtMs) {
        return String.format("%013d-%s", expiresAtMs, objectId);
    }

    Upload prepare(String objectId, long expiresAtMs, long size) {
        return new Upload(objectId, expiresAtMs, size);
    }

    /** Uploads the object in the background, if it is still buffered when the upload starts. */
    void start(Upload u, XdtBuffers buffers) {
        uploads.execute(() -> {
            Optional<XdtBuffers.Lease> pinned = buffers.pin(u.objectId);
            if (pinned.isEmpty()) {
                end(u, false, "the object was freed before its upload started");
                return;
            }
            try (XdtBuffers.Lease lease = pinned.get()) {
                objects.put(u.key, () -> encrypting(new DigestAppended(lease.stream(), u.objectId, u.size),
                        u.objectId), u.size + TRAILER);
                end(u, true, null);
            } catch (StoreException | IllegalStateException e) {
                LOG.log(System.Logger.Level.WARNING, "XDT: the durable copy of " + u.objectId + " could not be written: "
                        + e.getMessage());
                end(u, false, e.getMessage());
            }
        });
    }

    private void end(Upload u, boolean ok, String failure) {
        boolean delete;
        synchronized (u) {
            u.failure = failure;
            u.uploaded = ok;
            u.finished = true;
            delete = u.discarded && ok;
        }
        if (delete) {
            deleteQuietly(u.key);
        }
        done.accept(u);
    }

    /** The object was freed: its copy goes too (now, or when its upload ends). */
    void discard(Upload u) {
        boolean delete;
        synchronized (u) {
            u.discarded = true;
            delete = u.finished && Boolean.TRUE.equals(u.uploaded);
        }
        if (delete) {
            uploads.execute(() -> deleteQuietly(u.key));
        }
    }

    /** A copy being read: its data (the reference's size at most), then the digest its end vouches for. */
    record Copy(InputStream data, VerifyingRelay.Expected expected) {
    }

    /** @return the copy, decrypted, or empty when there is none */
    Optional<Copy> open(Reference ref) {
        return objects.open(key(ref.objectId(), ref.expiresAtMs())).map(stored -> {
            InputStream plain = encrypting(stored, ref.objectId());
            InputStream data = new java.io.FilterInputStream(plain) {
                private long left = ref.size();

                @Override
                public int read() throws IOException {
                    byte[] one = new byte[1];
                    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (left == 0) {
                        return -1;
                    }
                    int n = in.read(b, off, (int) Math.min(len, left));
                    if (n > 0) {
                        left -= n;
                    }
                    return n;
                }
            };
            return new Copy(data, () -> {
                byte[] trailer;
                try {
                    trailer = plain.readNBytes(TRAILER);
                } catch (IOException e) {
                    throw new Refusal(Refusal.Reason.UNAVAILABLE, "the durable copy in S3 broke off before its end: "
                            + e.getMessage(), e);
                }
                byte[] sha = java.util.Arrays.copyOf(trailer, 32);
                if (trailer.length != TRAILER
                        || !java.security.MessageDigest.isEqual(tag(ref.objectId(), ref.size(), sha),
                                java.util.Arrays.copyOfRange(trailer, 32, TRAILER))) {
                    throw new Refusal(Refusal.Reason.CORRUPTED, "the durable copy in S3 does not end with the signed"
                            + " SHA-256 of its data: it was changed or damaged there");
                }
                return sha;
            });
        });
    }

    private byte[] tag(String objectId, long size, byte[] sha) {
        byte[] text = (objectId + "\n" + size + "\n" + HexFormat.of().formatHex(sha))
                .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        return TransferKey.hmac(tagKey, text);
    }

    /** The buffer's bytes, hashed as they are read, then the digest and its tag. */
    private final class DigestAppended extends InputStream {
        private final InputStream data;
        private final String objectId;
        private final long size;
        private final java.security.MessageDigest md;
        private java.io.ByteArrayInputStream trailer;

        DigestAppended(InputStream data, String objectId, long size) {
            this.data = data;
            this.objectId = objectId;
            this.size = size;
            this.md = XdtService.sha256();
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (trailer == null) {
                int n = data.read(b, off, len);
                if (n >= 0) {
                    md.update(b, off, n);
                    return n;
                }
                byte[] sha = md.digest();
                byte[] t = new byte[TRAILER];
                System.arraycopy(sha, 0, t, 0, 32);
                System.arraycopy(tag(objectId, size, sha), 0, t, 32, 32);
                trailer = new java.io.ByteArrayInputStream(t);
            }
            return trailer.read(b, off, len);
        }

        @Override
        public void close() throws IOException {
            data.close();
        }
    }

    /** Deletes copies that expired more than {@link #SWEEP_GRACE_MS} ago. */
    void sweep(long nowMs) {
        for (ScratchObjects.Info i : objects.list("")) {
            int dash = i.key().indexOf('-');
            try {
                long expiry = Long.parseLong(i.key().substring(0, dash));
                if (expiry + SWEEP_GRACE_MS < nowMs) {
                    deleteQuietly(i.key());
                }
            } catch (RuntimeException e) {
                // not one of ours (S3Proxy lists objects being written under temporary names)
            }
        }
    }

    private void deleteQuietly(String k) {
        try {
            objects.delete(k);
        } catch (StoreException e) {
            LOG.log(System.Logger.Level.DEBUG, "XDT: cannot delete durable copy " + k + " now (a sweep will): "
                    + e.getMessage());
        }
    }

    /** AES-CTR both ways (the same operation), in 64 KiB steps. */
    private InputStream encrypting(InputStream in, String objectId) {
        Cipher c;
        try {
            c = Cipher.getInstance("AES/CTR/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, key, new IvParameterSpec(HexFormat.of().parseHex(objectId)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no AES/CTR", e);
        }
        return new FilterInputStream(in) {
            private final byte[] plain = new byte[64 * 1024];

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = in.read(plain, 0, Math.min(len, plain.length));
                if (n <= 0) {
                    return n;
                }
                try {
                    return c.update(plain, 0, n, b, off);
                } catch (GeneralSecurityException e) {
                    throw new IOException(e);
                }
            }

            @Override
            public long skip(long n) {
                return 0;
            }
        };
    }
}
