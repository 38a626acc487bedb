package dev.thaw.workloads;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.SplittableRandom;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * FunctionBench's {@code pyaes}: encrypt and decrypt a message, {@code rounds} times. Handler:
 * {@code dev.thaw.workloads.AesWorkload::handle}.
 *
 * <p>AES-256-GCM ({@code javax.crypto}) with a fixed key (the SHA-256 of a constant phrase) and
 * 128-bit tags. Round {@code r} uses the 96-bit IV {@link #iv(int)}: a fixed prefix and {@code r},
 * so no key-IV pair repeats within an invocation and the last round's ciphertext is reproducible.
 * The message is {@link #message(int)}: {@code messageBytes} pseudo-random bytes from a fixed seed.
 * Every decryption is compared with the message.
 *
 * <p>A benchmark, not a recipe: real code never uses a constant key or predictable IVs.
 */
public class AesWorkload implements Handler<AesWorkload.Input, AesWorkload.Output> {

    /**
     * @param messageBytes size of the message (0 to 16 MiB)
     * @param rounds how many times to encrypt and decrypt it (1 to 100000)
     */
    public record Input(int messageBytes, int rounds) {
    }

    /**
     * @param rounds rounds done
     * @param bytes message bytes encrypted in all (and as many decrypted)
     * @param ok whether every decryption gave back the message
     * @param ciphertextSha256 hex SHA-256 of the last round's ciphertext (with its tag)
     */
    public record Output(int rounds, long bytes, boolean ok, String ciphertextSha256) {
    }

    static final String TRANSFORMATION = "AES/GCM/NoPadding";
    static final int TAG_BITS = 128;
    static final long MESSAGE_SEED = 0x6165732d6d736721L;
    static final byte[] KEY_BYTES = Hashes.sha256("thaw-workloads fixed AES-256 key".getBytes(StandardCharsets.UTF_8));
    private static final byte[] IV_PREFIX = {0x74, 0x68, 0x61, 0x77, 0x2d, 0x61, 0x65, 0x73};

    private final SecretKey key = new SecretKeySpec(KEY_BYTES, "AES");

    /** Creates the handler; loads the JCE provider and AES-GCM during init. */
    public AesWorkload() {
        try {
            run(message(64), 2);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256-GCM is not available", e);
        }
    }

    @Override
    public Output handle(Input input, InvocationContext context) throws GeneralSecurityException {
        Inputs.required(input, "{\"messageBytes\":65536,\"rounds\":10}");
        int size = Inputs.inRange("messageBytes", input.messageBytes(), 0, 16 << 20);
        int rounds = Inputs.inRange("rounds", input.rounds(), 1, 100_000);
        return run(message(size), rounds);
    }

    private Output run(byte[] message, int rounds) throws GeneralSecurityException {
        // new Cipher objects per invocation: GCM refuses a second encryption with the last key and IV
        Cipher encrypt = Cipher.getInstance(TRANSFORMATION);
        Cipher decrypt = Cipher.getInstance(TRANSFORMATION);
        boolean ok = true;
        byte[] ciphertext = null;
        for (int r = 0; r < rounds; r++) {
            GCMParameterSpec spec = new GCMParameterSpec(TAG_BITS, iv(r));
            encrypt.init(Cipher.ENCRYPT_MODE, key, spec);
            ciphertext = encrypt.doFinal(message);
            decrypt.init(Cipher.DECRYPT_MODE, key, spec);
            ok &= Arrays.equals(decrypt.doFinal(ciphertext), message);
        }
        return new Output(rounds, (long) rounds * message.length, ok, Hashes.sha256Hex(ciphertext));
    }

    /** @return the 12-byte IV of round {@code round}: a fixed prefix, then the round, big-endian */
    static byte[] iv(int round) {
        byte[] iv = Arrays.copyOf(IV_PREFIX, 12);
        iv[8] = (byte) (round >>> 24);
        iv[9] = (byte) (round >>> 16);
        iv[10] = (byte) (round >>> 8);
        iv[11] = (byte) round;
        return iv;
    }

    /** @return {@code size} pseudo-random bytes, the same for the same size */
    static byte[] message(int size) {
        byte[] bytes = new byte[size];
        new SplittableRandom(MESSAGE_SEED).nextBytes(bytes);
        return bytes;
    }
}
