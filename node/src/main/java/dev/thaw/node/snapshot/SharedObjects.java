package dev.thaw.node.snapshot;

import dev.thaw.core.FileTrees;
import dev.thaw.node.function.Deployment;
import dev.thaw.store.SnapshotStore;
import dev.thaw.store.StoreException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/*
 * What the nodes of a cluster share through the snapshot store besides images: a function's code,
 * and what a restore needs besides the images (the snapshot's metadata and the scratch directory the
 * dump froze). Both go through the store like an image, so they are chunked, encrypted with the
 * cluster's store secret and deduplicated, and never pass through etcd, which holds only their keys.
 *
 * The metadata object holds the runtime handshake's tokens: kept in the encrypted store it is as
 * private as the image it belongs to. Its scratch directory is packed with tar, which keeps the
 * owners (the function's uid), modes and times a clone's CRIU restore checks.
 *
 * A cluster's nodes must share one store secret. The first node puts a key check (an HMAC under the
 * secret) beside the snapshots; every later node compares its own, and one with another secret
 * serves no snapshot, rather than see an empty store and take every snapshot again.
 */
/** Code, snapshot metadata and the key check in the shared store (see the comment above). */
public final class SharedObjects {
    private static final String CODE_FILE = "code.zip";
    private static final String META_FILE = "meta.tar";
    private static final String KEY_CHECK_FILE = "key-check";
    /** Longest a put waits for its upload to S3, where the other nodes read it. */
    private static final java.time.Duration UPLOAD_WAIT = java.time.Duration.ofSeconds(120);

    private final SnapshotStore store;
    private final Path staging;

    /** @param staging a directory of the node's own where objects are packed and unpacked */
    public SharedObjects(SnapshotStore store, Path staging) throws IOException {
        this.store = store;
        this.staging = Files.createDirectories(staging);
    }

    /** @return the store key of code with this SHA-256 */
    public static String codeKey(String sha256) {
        return "code-" + sha256;
    }

    /**
     * Stores a function's code under its content hash, once: a second deploy of the same bytes
     * (through any node) finds it there.
     *
     * @return its key
     */
    public String putCode(String sha256, byte[] code) throws IOException {
        String key = codeKey(sha256);
        if (exists(key)) {
            return key;
        }
        Path dir = Files.createTempDirectory(staging, "code-");
        try {
            Files.write(dir.resolve(CODE_FILE), code);
            store.put(key, dir);
            awaitUploaded(key);
            return key;
        } finally {
            FileTrees.deleteQuietly(dir);
        }
    }

    /**
     * @return the code stored under {@code key}, checked against {@code sha256}
     * @throws IOException when it is missing, unreadable, or not the bytes its hash names
     */
    public byte[] code(String key, String sha256) throws IOException {
        Path dir = Files.createTempDirectory(staging, "code-");
        try {
            store.materialize(key, dir);
            byte[] code = Files.readAllBytes(dir.resolve(CODE_FILE));
            String actual = sha256(code);
            if (!actual.equals(sha256)) {
                throw new IOException("the stored code " + key + " has SHA-256 " + actual + ", not " + sha256);
            }
            return code;
        } catch (StoreException e) {
            throw new IOException("cannot read the code " + key + " from the shared store: " + e.getMessage(), e);
        } finally {
            FileTrees.deleteQuietly(dir);
        }
    }

    static String metaKey(String snapshotId) {
        return snapshotId + ".meta";
    }

    /**
     * Stores a snapshot's metadata directory ({@code snapshot.json}, {@code scratch/}) for other nodes.
     *
     * @param snapshotId the snapshot's id in the store ({@link SnapshotRepository#snapshotId})
     */
    public void putMeta(String snapshotId, Path metaDir) throws IOException {
        String key = metaKey(snapshotId);
        Path dir = Files.createTempDirectory(staging, "meta-");
        try {
            List<String> entries = new java.util.ArrayList<>(List.of("snapshot.json"));
            if (Files.isDirectory(metaDir.resolve("scratch"))) {
                entries.add("scratch");
            }
            tar(metaDir, List.of("-cpf", dir.resolve(META_FILE).toString(), "--numeric-owner"), entries);
            store.put(key, dir);
            awaitUploaded(key);
        } finally {
            FileTrees.deleteQuietly(dir);
        }
    }

    /**
     * Fetches a snapshot's metadata directory that another node stored, into {@code metaDir}
     * (replaced).
     *
     * @return false when the store has none
     */
    public boolean fetchMeta(String snapshotId, Path metaDir) throws IOException {
        String key = metaKey(snapshotId);
        if (!exists(key)) {
            return false;
        }
        Path dir = Files.createTempDirectory(staging, "meta-");
        try {
            store.materialize(key, dir);
            FileTrees.deleteQuietly(metaDir);
            Files.createDirectories(metaDir);
            tar(metaDir, List.of("-xpf", dir.resolve(META_FILE).toString(), "--numeric-owner", "--same-owner"), List.of());
            return true;
        } catch (StoreException e) {
            throw new IOException("cannot read the snapshot metadata " + key + " from the shared store: "
                    + e.getMessage(), e);
        } finally {
            FileTrees.deleteQuietly(dir);
        }
    }

    /**
     * Waits until the deployment's snapshot (and the base image lazy restores use, when there is
     * one) is uploaded to S3: only then can other nodes restore it.
     *
     * @throws IOException when it is not uploaded within the wait
     */
    public void awaitSnapshotUploaded(String snapshotId, String baseImageId) throws IOException {
        awaitUploaded(snapshotId);
        if (exists(baseImageId)) {
            awaitUploaded(baseImageId);
        }
    }

    private void awaitUploaded(String key) throws IOException {
        try {
            if (!store.awaitDurable(key, UPLOAD_WAIT)) {
                throw new IOException(key + " was not uploaded to the shared store's S3 tier within " + UPLOAD_WAIT.toSeconds()
                        + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while " + key + " was uploaded", e);
        }
    }

    /** Deletes what {@link #putMeta} stored for a version: for its first snapshot and for a warmed one. */
    public void deleteMeta(Deployment d) {
        deleteMeta(SnapshotRepository.snapshotId(d, 0));
        deleteMeta(SnapshotRepository.warmedSnapshotId(d));
    }

    /** Deletes what {@link #putMeta} stored for one snapshot. */
    public void deleteMeta(String snapshotId) {
        try {
            store.delete(metaKey(snapshotId));
        } catch (StoreException e) {
            // deleted with its snapshot; a leftover costs a few KB until the next gc
        }
    }

    /**
     * Checks that this node's store secret is the cluster's. The store names its objects after its
     * secret, so a node with another secret would simply see an empty store; the check therefore
     * lives outside the snapshots' names: a scratch object ({@code cluster/key-check}) holding an
     * HMAC of the cluster's name under the secret. The first node writes it; every later node
     * compares. The HMAC reveals nothing of the secret.
     *
     * @param secret this node's store secret
     * @return empty when the secret is right, else why not
     */
    public Optional<String> checkSecret(String clusterName, byte[] secret) throws IOException {
        byte[] expected = keyCheck(clusterName, secret);
        var scratch = store.scratch("cluster");
        Optional<java.io.InputStream> found = scratch.open(KEY_CHECK_FILE);
        if (found.isEmpty()) {
            scratch.put(KEY_CHECK_FILE, () -> new java.io.ByteArrayInputStream(expected), expected.length);
            return Optional.empty();
        }
        byte[] stored;
        try (java.io.InputStream in = found.get()) {
            stored = in.readAllBytes();
        }
        return MessageDigest.isEqual(stored, expected) ? Optional.empty()
                : Optional.of("the shared store's key check (written by the cluster's first node) does not match this"
                        + " node's store secret");
    }

    private static byte[] keyCheck(String clusterName, byte[] secret) {
        try {
            javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
            mac.init(new javax.crypto.spec.SecretKeySpec(secret, "HmacSHA256"));
            return mac.doFinal(("thaw cluster " + clusterName + " store key check").getBytes(StandardCharsets.UTF_8));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no HmacSHA256", e);
        }
    }

    private boolean exists(String key) {
        try {
            store.manifest(key);
            return true;
        } catch (StoreException.NotFound e) {
            return false;
        }
    }

    private static void tar(Path dir, List<String> args, List<String> entries) throws IOException {
        List<String> cmd = new java.util.ArrayList<>(List.of("tar", "-C", dir.toString()));
        cmd.addAll(args);
        cmd.addAll(entries);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("tar did not finish in 60 s");
            }
            if (p.exitValue() != 0) {
                throw new IOException("tar " + String.join(" ", args) + " failed (" + p.exitValue() + "): " + out);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running tar", e);
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
