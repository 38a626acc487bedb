package dev.thaw.node.xdt;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The pull's integrity check: what arrives must be the reference's bytes, all of them, no more. */
class VerifyingRelayTest {
    private static final byte[] DATA = new byte[3 * VerifyingRelay.BUFFER + 17];
    /** Hashing on another thread, as the node does. */
    private static final java.util.concurrent.Executor HASHERS = java.util.concurrent.Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().factory());

    static {
        new Random(5).nextBytes(DATA);
    }

    private static Reference ref(byte[] data) {
        return new Reference("node-a", "127.0.0.1:1", "00112233445566778899aabbccddeeff", "p", data.length,
                Long.MAX_VALUE, 1, List.of(), false);
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Relays, the source vouching for DATA's digest. */
    private static VerifyingRelay.Outcome relay(InputStream source, Reference ref, ByteArrayOutputStream sink)
            throws IOException {
        return relay(source, ref, () -> sha256(DATA), sink);
    }

    private static VerifyingRelay.Outcome relay(InputStream source, Reference ref, VerifyingRelay.Expected expected,
                                                ByteArrayOutputStream sink) throws IOException {
        return VerifyingRelay.relay(source, ref, expected, "node 'a'", b -> {
            byte[] copy = new byte[b.remaining()];
            b.get(copy);
            sink.writeBytes(copy);
        }, HASHERS);
    }

    @Test
    void theSameBytesPassAndVerify() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        VerifyingRelay.Outcome o = relay(new ByteArrayInputStream(DATA), ref(DATA), out);
        assertThat(o.ok()).isTrue();
        assertThat(o.bytes()).isEqualTo(DATA.length);
        assertThat(out.toByteArray()).isEqualTo(DATA);
    }

    @Test
    void aFlippedByteIsDetectedWherever() throws Exception {
        Reference ref = ref(DATA);
        for (int at : new int[] {0, 1, VerifyingRelay.BUFFER, DATA.length / 2, DATA.length - 1}) {
            byte[] damaged = DATA.clone();
            damaged[at] ^= 0x10;
            VerifyingRelay.Outcome o = relay(new ByteArrayInputStream(damaged), ref, new ByteArrayOutputStream());
            assertThat(o.ok()).as("flipped at %d", at).isFalse();
            assertThat(o.failure().reason()).isEqualTo(Refusal.Reason.CORRUPTED);
            assertThat(o.failure()).hasMessageContaining("does not match the SHA-256 signed with it")
                    .hasMessageContaining("node 'a'");
        }
    }

    @Test
    void tooFewOrTooManyBytesAreCorrupted() throws Exception {
        Reference ref = ref(DATA);
        byte[] shorter = java.util.Arrays.copyOf(DATA, DATA.length - 1);
        assertThat(relay(new ByteArrayInputStream(shorter), ref, new ByteArrayOutputStream()).failure())
                .hasMessageContaining("ended after " + shorter.length);
        byte[] longer = java.util.Arrays.copyOf(DATA, DATA.length + 1);
        VerifyingRelay.Outcome o = relay(new ByteArrayInputStream(longer), ref, new ByteArrayOutputStream());
        assertThat(o.failure().reason()).isEqualTo(Refusal.Reason.CORRUPTED);
        assertThat(o.failure()).hasMessageContaining("longer than");
    }

    @Test
    void aSourceThatBreaksOffIsUnavailableNotCorrupted() throws Exception {
        InputStream breaking = new InputStream() {
            private int n;

            @Override
            public int read() throws IOException {
                if (n++ > 1000) {
                    throw new java.net.SocketException("Connection reset");
                }
                return 1;
            }
        };
        VerifyingRelay.Outcome o = relay(breaking, ref(DATA), new ByteArrayOutputStream());
        assertThat(o.failure().reason()).isEqualTo(Refusal.Reason.UNAVAILABLE);
        assertThat(o.failure()).hasMessageContaining("broke off after").hasMessageContaining("Connection reset");
    }

    @Test
    void aSourceThatVouchesForNothingOrForOtherBytesIsRefused() throws Exception {
        VerifyingRelay.Outcome none = relay(new ByteArrayInputStream(DATA), ref(DATA), () -> {
            throw new Refusal(Refusal.Reason.CORRUPTED, "came without the signed SHA-256");
        }, new ByteArrayOutputStream());
        assertThat(none.failure()).hasMessageContaining("without the signed SHA-256");
        byte[] other = DATA.clone();
        other[0] ^= 1;
        VerifyingRelay.Outcome wrong = relay(new ByteArrayInputStream(DATA), ref(DATA), () -> sha256(other),
                new ByteArrayOutputStream());
        assertThat(wrong.failure().reason()).isEqualTo(Refusal.Reason.CORRUPTED);
    }
}
