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
 * transfer key, the object id as the counter's start (ids are random and never reused). Integrity
 * needs no tag of its own: whoever reads a copy checks it against the reference's SHA-256.
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
    private final SecretKeySpec key;
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
                objects.put(u.key, () -> encrypting(lease.stream(), u.objectId), u.size);
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

    /** @return the copy's plaintext, or empty when there is none */
    Optional<InputStream> open(Reference ref) {
        return objects.open(key(ref.objectId(), ref.expiresAtMs())).map(in -> encrypting(in, ref.objectId()));
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
