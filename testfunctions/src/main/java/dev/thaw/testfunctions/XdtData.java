package dev.thaw.testfunctions;

import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;

/**
 * The data the XDT fixtures move: {@code bytes} pseudo-random bytes from a seed, produced as a
 * stream (nothing whole in memory), the same for the same seed and length, so a test computes its
 * SHA-256 independently.
 */
public final class XdtData {
    private XdtData() {
    }

    /** @return {@code bytes} bytes from {@code seed}, streamed */
    public static InputStream stream(long bytes, long seed) {
        return new InputStream() {
            private final SplittableRandom random = new SplittableRandom(seed);
            private final byte[] block = new byte[64 * 1024];
            private int pos = block.length;
            private long left = bytes;

            @Override
            public int read() {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (left == 0) {
                    return -1;
                }
                if (pos == block.length) {
                    random.nextBytes(block); // 64 KiB, a multiple of 8: the sequence does not depend on reads
                    pos = 0;
                }
                int n = (int) Math.min(Math.min(len, block.length - pos), left);
                System.arraycopy(block, pos, b, off, n);
                pos += n;
                left -= n;
                return n;
            }
        };
    }

    /** @return the SHA-256, in hex, of what {@link #stream} yields */
    public static String sha256(long bytes, long seed) {
        try {
            return sha256(stream(bytes, seed));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** @return the SHA-256, in hex, of a stream read to its end */
    public static String sha256(InputStream in) throws java.io.IOException {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        byte[] buf = new byte[256 * 1024];
        for (int n; (n = in.read(buf)) >= 0; ) {
            sha.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
