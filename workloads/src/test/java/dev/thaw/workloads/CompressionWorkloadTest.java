package dev.thaw.workloads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.InflaterInputStream;
import org.junit.jupiter.api.Test;

class CompressionWorkloadTest {

    private final CompressionWorkload handler = new CompressionWorkload();

    @Test
    void compressesAndRestoresText() throws Exception {
        CompressionWorkload.Output out = handler.handle(new CompressionWorkload.Input(64, false), null);

        assertThat(out.inputBytes()).isEqualTo(64 * 1024);
        assertThat(out.ok()).isTrue();
        assertThat(out.format()).isEqualTo("zlib");
        assertThat(out.compressedBytes()).isBetween(1000L, 64 * 1024 / 2L);
        assertThat(out.ratio()).isCloseTo((double) out.inputBytes() / out.compressedBytes(), offset(1e-9));

        // an independent decoder gives the text back from what the workload produced
        byte[] text = CompressionWorkload.text(64 * 1024);
        byte[] compressed = CompressionWorkload.compress(text);
        assertThat(compressed).hasSize((int) out.compressedBytes());
        assertThat(compressed[0]).isEqualTo((byte) 0x78); // zlib header, 32 KiB window
        try (InputStream in = new InflaterInputStream(new ByteArrayInputStream(compressed))) {
            assertThat(in.readAllBytes()).isEqualTo(text);
        }
    }

    @Test
    void gzipToo() {
        CompressionWorkload.Output out = handler.handle(new CompressionWorkload.Input(16, true), null);

        assertThat(out.ok()).isTrue();
        assertThat(out.format()).isEqualTo("gzip");
        assertThat(out.compressedBytes()).isLessThan(16 * 1024 / 2);
        byte[] gz = CompressionWorkload.gzip(CompressionWorkload.text(16 * 1024));
        assertThat(gz).startsWith((byte) 0x1f, (byte) 0x8b);
    }

    @Test
    void textIsReproducibleEnglishLikeAscii() {
        byte[] text = CompressionWorkload.text(10_000);
        String s = new String(text, StandardCharsets.US_ASCII);

        assertThat(text).hasSize(10_000).isEqualTo(CompressionWorkload.text(10_000));
        assertThat(s.chars().allMatch(c -> c == '\n' || (c >= ' ' && c < 127))).isTrue();
        assertThat(Character.isUpperCase(s.charAt(0))).isTrue();
        assertThat(s).contains(".\n").contains(" the ");
        assertThat(CompressionWorkload.text(100)).isEqualTo(Arrays.copyOf(text, 100));
    }

    @Test
    void emptyInput() {
        CompressionWorkload.Output out = handler.handle(new CompressionWorkload.Input(0, false), null);
        assertThat(out.inputBytes()).isZero();
        assertThat(out.ok()).isTrue();
    }

    @Test
    void truncatedStreamsFail() {
        byte[] compressed = CompressionWorkload.compress(CompressionWorkload.text(4096));
        byte[] truncated = Arrays.copyOf(compressed, compressed.length / 2);
        assertThatThrownBy(() -> CompressionWorkload.decompress(truncated, 4096))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("truncated");
    }

    @Test
    void rejectsBadInput() {
        assertThatThrownBy(() -> handler.handle(null, null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> handler.handle(new CompressionWorkload.Input(-1, false), null))
                .hasMessageContaining("sizeKb");
    }
}
