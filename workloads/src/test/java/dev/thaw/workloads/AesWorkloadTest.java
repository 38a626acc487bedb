package dev.thaw.workloads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class AesWorkloadTest {

    private final AesWorkload handler = new AesWorkload();

    /** The last round's ciphertext, computed here from the documented key, IV and message. */
    private static byte[] expectedCiphertext(byte[] message, int lastRound) throws Exception {
        byte[] key = MessageDigest.getInstance("SHA-256")
                .digest("thaw-workloads fixed AES-256 key".getBytes(StandardCharsets.UTF_8));
        // "thaw-aes", then the round as a big-endian int
        byte[] iv = HexFormat.of().parseHex("746861772d616573" + String.format("%08x", lastRound));
        Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
        cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, iv));
        return cipher.doFinal(message);
    }

    @Test
    void encryptsAndDecryptsEveryRound() throws Exception {
        AesWorkload.Output out = handler.handle(new AesWorkload.Input(1000, 3), null);

        assertThat(out.rounds()).isEqualTo(3);
        assertThat(out.bytes()).isEqualTo(3000);
        assertThat(out.ok()).isTrue();
        byte[] ciphertext = expectedCiphertext(AesWorkload.message(1000), 2);
        assertThat(ciphertext).hasSize(1000 + 16);
        assertThat(out.ciphertextSha256()).isEqualTo(Sha.hex(ciphertext));
    }

    @Test
    void ivsAreTheDocumentedPrefixAndRound() {
        assertThat(HexFormat.of().formatHex(AesWorkload.iv(0))).isEqualTo("746861772d61657300000000");
        assertThat(HexFormat.of().formatHex(AesWorkload.iv(258))).isEqualTo("746861772d61657300000102");
    }

    @Test
    void messageIsReproduciblePseudoRandomData() {
        byte[] message = AesWorkload.message(4096);
        assertThat(message).hasSize(4096).isEqualTo(AesWorkload.message(4096));
        assertThat(AesWorkload.message(16)).isEqualTo(Arrays.copyOf(message, 16));
        assertThat(new String(message, StandardCharsets.ISO_8859_1).chars().distinct().count()).isGreaterThan(200);
    }

    @Test
    void repeatedSingleRoundInvocationsWork() throws Exception {
        // GCM refuses to encrypt twice with one key and IV on one Cipher: each invocation has its own
        AesWorkload.Output first = handler.handle(new AesWorkload.Input(64, 1), null);
        AesWorkload.Output second = handler.handle(new AesWorkload.Input(64, 1), null);
        assertThat(second).isEqualTo(first);
        assertThat(first.ciphertextSha256()).isEqualTo(Sha.hex(expectedCiphertext(AesWorkload.message(64), 0)));
    }

    @Test
    void emptyMessageStillHasATag() throws Exception {
        AesWorkload.Output out = handler.handle(new AesWorkload.Input(0, 2), null);
        assertThat(out.ok()).isTrue();
        assertThat(out.bytes()).isZero();
        assertThat(out.ciphertextSha256()).isEqualTo(Sha.hex(expectedCiphertext(new byte[0], 1)));
    }

    @Test
    void rejectsBadInput() {
        assertThatThrownBy(() -> handler.handle(null, null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> handler.handle(new AesWorkload.Input(10, 0), null)).hasMessageContaining("rounds");
        assertThatThrownBy(() -> handler.handle(new AesWorkload.Input(-1, 1), null)).hasMessageContaining("messageBytes");
    }
}
