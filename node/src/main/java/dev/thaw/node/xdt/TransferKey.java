package dev.thaw.node.xdt;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Set;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The cluster-wide transfer key: 32 random bytes, base64 in a file readable by its owner only,
 * created on a node's first start ({@code DATA_DIR/xdt.key}). Every node of a cluster must hold the
 * same file (copied by whoever provisions the nodes, never sent through etcd): a reference signed by
 * one node is verified by any other, and nodes sign their requests to each other with it. Each use
 * gets a key of its own, derived with HMAC-SHA256 from the file's key and the use's name.
 */
public final class TransferKey {
    private static final Set<PosixFilePermission> GROUP_OR_OTHER = Set.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

    /** A Mac per thread: a connection's requests run on one thread, and getInstance costs more than the MAC. */
    private static final ThreadLocal<Mac> MAC = ThreadLocal.withInitial(() -> {
        try {
            return Mac.getInstance("HmacSHA256");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no HmacSHA256", e);
        }
    });

    private final byte[] key;

    private TransferKey(byte[] key) {
        this.key = key;
    }

    /** @return a key of these bytes (tests) */
    static TransferKey of(byte[] key) {
        if (key.length < 32) {
            throw new IllegalArgumentException("a transfer key has at least 32 bytes, not " + key.length);
        }
        return new TransferKey(key.clone());
    }

    /**
     * Reads the key file, creating it (owner-only) when {@code create} and it does not exist.
     *
     * @throws IllegalStateException naming the file when it is missing, readable by others, or not a key
     */
    public static TransferKey load(Path file, boolean create) {
        try {
            if (!Files.exists(file)) {
                if (!create) {
                    throw new IllegalStateException("the transfer key file " + file + " does not exist");
                }
                byte[] k = new byte[32];
                new SecureRandom().nextBytes(k);
                Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), ".xdt-key", ".tmp",
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                Files.writeString(tmp, Base64.getEncoder().encodeToString(k) + "\n", StandardCharsets.US_ASCII);
                try {
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
                } catch (java.nio.file.FileAlreadyExistsException raced) {
                    Files.deleteIfExists(tmp);
                }
            }
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (perms.stream().anyMatch(GROUP_OR_OTHER::contains)) {
                throw new IllegalStateException("the transfer key file " + file + " is accessible to other users ("
                        + PosixFilePermissions.toString(perms) + "): chmod 600 it");
            }
            byte[] k;
            try {
                k = Base64.getDecoder().decode(Files.readString(file, StandardCharsets.US_ASCII).strip());
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("the transfer key file " + file + " does not hold a base64 key");
            }
            if (k.length < 32) {
                throw new IllegalStateException("the transfer key in " + file + " has " + k.length
                        + " bytes; it needs at least 32");
            }
            return new TransferKey(k);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or create the transfer key file " + file + ": " + e.getMessage(), e);
        }
    }

    /** @return a 32-byte key for one use, the same on every node holding this key */
    byte[] derive(String use) {
        return hmac(key, ("thaw-xdt " + use).getBytes(StandardCharsets.UTF_8));
    }

    /** @return HMAC-SHA256 of {@code data} under {@code key} */
    static byte[] hmac(byte[] key, byte[] data) {
        try {
            Mac mac = MAC.get();
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no HmacSHA256", e);
        }
    }
}
