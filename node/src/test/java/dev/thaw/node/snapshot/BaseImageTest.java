package dev.thaw.node.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.thaw.lazy.ImageIndex;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BaseImageTest {
    private static final int PAGE = 4096;

    @TempDir
    Path tmp;

    @Test
    void unpacksWholeFilesAndOnlyTheRangesOfPageFiles() throws IOException {
        Path image = Files.createDirectories(tmp.resolve("image"));
        byte[] core = bytes(300, 1);
        byte[] pages1 = bytes(16 * PAGE, 2);
        byte[] pages2 = bytes(4 * PAGE, 3);
        Files.write(image.resolve("core-1.img"), core);
        Files.write(image.resolve("inventory.img"), new byte[0]);
        Files.write(image.resolve("pages-1.img"), pages1);
        Files.write(image.resolve("pages-2.img"), pages2);
        List<ImageIndex.ByteRange> ranges = List.of(new ImageIndex.ByteRange(1, PAGE, 2 * PAGE),
                new ImageIndex.ByteRange(1, 15 * PAGE, PAGE));

        Path bundle = tmp.resolve("base");
        BaseImage.write(image, ranges, bundle);
        Path out = tmp.resolve("out");
        BaseImage.unpack(Files.readAllBytes(bundle), out);

        assertThat(out.resolve("core-1.img")).hasBinaryContent(core);
        assertThat(out.resolve("inventory.img")).hasBinaryContent(new byte[0]);
        byte[] got1 = Files.readAllBytes(out.resolve("pages-1.img"));
        assertThat(got1).hasSize(pages1.length);
        for (int page = 0; page < 16; page++) {
            byte[] expected = page == 1 || page == 2 || page == 15 ? slice(pages1, page) : new byte[PAGE];
            assertThat(slice(got1, page)).as("page %d", page).isEqualTo(expected);
        }
        assertThat(out.resolve("pages-2.img")).as("no range: a hole of the full size").hasBinaryContent(new byte[4 * PAGE]);
        assertThat(Files.size(bundle)).as("only the ranges' pages are packed").isLessThan(4 * PAGE + 1024);
    }

    @Test
    void rejectsWhatIsNotABaseImage() throws IOException {
        Path image = Files.createDirectories(tmp.resolve("image"));
        Files.write(image.resolve("core-1.img"), bytes(5000, 4));
        Path bundle = tmp.resolve("base");
        BaseImage.write(image, List.of(), bundle);
        byte[] good = Files.readAllBytes(bundle);

        assertThatThrownBy(() -> BaseImage.unpack("not a base image".getBytes(), tmp.resolve("a")))
                .isInstanceOf(IOException.class).hasMessageContaining("not a base image");
        assertThatThrownBy(() -> BaseImage.unpack(Arrays.copyOf(good, good.length - 100), tmp.resolve("b")))
                .isInstanceOf(IOException.class).hasMessageContaining("truncated");
    }

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] slice(byte[] b, int page) {
        return Arrays.copyOfRange(b, page * PAGE, (page + 1) * PAGE);
    }
}
