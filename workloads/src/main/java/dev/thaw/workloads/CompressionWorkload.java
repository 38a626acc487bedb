package dev.thaw.workloads;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.Inflater;

/**
 * FunctionBench's {@code compression}: compress a text and decompress it again. Handler:
 * {@code dev.thaw.workloads.CompressionWorkload::handle}.
 *
 * <p>The text ({@link #text(int)}) is {@code sizeKb} KiB of English-like lines: words drawn from a
 * fixed vocabulary with a fixed seed, so it compresses the way prose does. It is compressed with
 * {@link Deflater} (zlib format, default level), or as gzip when {@code gzip} is true, then
 * decompressed and compared with the original.
 */
public class CompressionWorkload implements Handler<CompressionWorkload.Input, CompressionWorkload.Output> {

    /**
     * @param sizeKb size of the text, in KiB (0 to 65536)
     * @param gzip gzip ({@code java.util.zip.GZIPOutputStream}) instead of raw zlib
     */
    public record Input(int sizeKb, boolean gzip) {
    }

    /**
     * @param inputBytes size of the text
     * @param compressedBytes size of the compressed text
     * @param ratio {@code inputBytes / compressedBytes}
     * @param ok whether decompression gave back the text
     * @param format {@code zlib} or {@code gzip}
     */
    public record Output(long inputBytes, long compressedBytes, double ratio, boolean ok, String format) {
    }

    static final long TEXT_SEED = 0x636f6d7072657373L;
    static final String[] WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at "
            + "which but have an they you were her she there function snapshot restore memory process kernel page "
            + "checkpoint latency server request cold warm start image clone instance node thaw benchmark "
            + "compression window dictionary entropy stream block huffman literal distance match").split(" ");

    /** Creates the handler; loads the zlib paths during init. */
    public CompressionWorkload() {
        byte[] sample = text(4096);
        decompress(compress(sample), sample.length);
        gunzip(gzip(sample));
    }

    @Override
    public Output handle(Input input, InvocationContext context) {
        Inputs.required(input, "{\"sizeKb\":512}");
        int size = Inputs.inRange("sizeKb", input.sizeKb(), 0, 64 * 1024) * 1024;
        byte[] text = text(size);
        byte[] compressed;
        byte[] restored;
        if (input.gzip()) {
            compressed = gzip(text);
            restored = gunzip(compressed);
        } else {
            compressed = compress(text);
            restored = decompress(compressed, text.length);
        }
        double ratio = compressed.length == 0 ? 0 : (double) text.length / compressed.length;
        return new Output(text.length, compressed.length, ratio, Arrays.equals(text, restored),
                input.gzip() ? "gzip" : "zlib");
    }

    /** @return {@code size} bytes of ASCII text, the same for the same size */
    static byte[] text(int size) {
        StringBuilder text = new StringBuilder(size + 64);
        SplittableRandom random = new SplittableRandom(TEXT_SEED);
        int wordsInLine = 0;
        while (text.length() < size) {
            String word = WORDS[random.nextInt(WORDS.length)];
            if (wordsInLine == 0) {
                text.append(Character.toUpperCase(word.charAt(0))).append(word, 1, word.length());
            } else {
                text.append(' ').append(word);
            }
            if (++wordsInLine >= 8 + random.nextInt(8)) {
                text.append(".\n");
                wordsInLine = 0;
            }
        }
        text.setLength(size);
        return text.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** @return {@code data} in zlib format, at the default level */
    static byte[] compress(byte[] data) {
        Deflater deflater = new Deflater();
        try {
            deflater.setInput(data);
            deflater.finish();
            ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(64, data.length / 3));
            byte[] buffer = new byte[64 * 1024];
            while (!deflater.finished()) {
                out.write(buffer, 0, deflater.deflate(buffer));
            }
            return out.toByteArray();
        } finally {
            deflater.end();
        }
    }

    /** @return the zlib stream {@code compressed} inflated; {@code expectedSize} sizes the buffer */
    static byte[] decompress(byte[] compressed, int expectedSize) {
        Inflater inflater = new Inflater();
        try {
            inflater.setInput(compressed);
            ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(64, expectedSize));
            byte[] buffer = new byte[64 * 1024];
            while (!inflater.finished()) {
                int n = inflater.inflate(buffer);
                if (n == 0 && !inflater.finished() && (inflater.needsInput() || inflater.needsDictionary())) {
                    throw new IllegalStateException("truncated zlib stream");
                }
                out.write(buffer, 0, n);
            }
            return out.toByteArray();
        } catch (DataFormatException e) {
            throw new IllegalStateException("corrupt zlib stream", e);
        } finally {
            inflater.end();
        }
    }

    static byte[] gzip(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(64, data.length / 3));
        try (GZIPOutputStream gz = new GZIPOutputStream(out, 64 * 1024)) {
            gz.write(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    static byte[] gunzip(byte[] compressed) {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(compressed), 64 * 1024)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
