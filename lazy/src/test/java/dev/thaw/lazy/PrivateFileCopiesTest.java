package dev.thaw.lazy;

import static dev.thaw.lazy.TestImages.ANON_PRIVATE;
import static dev.thaw.lazy.TestImages.FILE_PRIVATE;
import static dev.thaw.lazy.TestImages.LAZY;
import static dev.thaw.lazy.TestImages.PRESENT;
import static dev.thaw.lazy.TestImages.REGULAR_ANON;
import static dev.thaw.lazy.TestImages.REGULAR_FILE;
import static dev.thaw.lazy.TestImages.entry;
import static dev.thaw.lazy.TestImages.message;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.groups.Tuple.tuple;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link PrivateFileCopies} on hand-written images: which runs become anonymous mappings, how the
 * file mappings around them are cut, which pagemap entries become lazy, and what is left alone.
 * LazyRestoreTest restores a real JVM image rewritten by it, lazily and eagerly.
 */
class PrivateFileCopiesTest {
    private static final int PAGE = 4096;
    private static final long LOCKED = 0x2000;

    @TempDir
    Path dir;

    /** A file mapping as CRIU writes it: offset, file id, fd -1 (zigzag 1), open flags. */
    private static byte[] fileVma(long start, long end, long pgoff, long shmid, long flags, long status) {
        return message(1, start, 2, end, 3, pgoff, 4, shmid, 5, 3, 6, flags, 7, status, 8, 1, 10, 0);
    }

    @Test
    void runsOfDumpedPagesBecomeAnonymousLazyMappingsAndTheFileMappingIsCutAroundThem() throws IOException {
        TestImages.write(dir, List.of(
                        // a file mapping at file offset 0x5000: a 22-page run (two entries) and a 2-page one
                        fileVma(0x10000, 0x40000, 0x5000, 3, FILE_PRIVATE, REGULAR_FILE),
                        TestImages.vma(0x50000, 0x58000, ANON_PRIVATE, REGULAR_ANON),
                        // two file mappings one entry spans: both whole runs
                        fileVma(0x60000, 0x70000, 0, 4, FILE_PRIVATE, REGULAR_FILE),
                        fileVma(0x70000, 0x88000, 0x10000, 5, FILE_PRIVATE, REGULAR_FILE)),
                List.of(entry(0x12000, 20, PRESENT), entry(0x26000, 2, PRESENT), entry(0x30000, 2, PRESENT),
                        entry(0x50000, 3, PRESENT | LAZY), entry(0x60000, 40, PRESENT)), true);
        ImageIndex before = ImageIndex.load(dir);

        PrivateFileCopies.Conversion c = PrivateFileCopies.makeLazy(dir);

        assertThat(c).isEqualTo(new PrivateFileCopies.Conversion(3, 22 + 16 + 24));
        assertThat(vmas()).containsExactly(
                Map.of(1, 0x10000L, 2, 0x12000L, 3, 0x5000L, 4, 3L, 5, 3L, 6, FILE_PRIVATE, 7, REGULAR_FILE, 8, 1L, 10, 0L),
                Map.of(1, 0x12000L, 2, 0x28000L, 3, 0L, 4, 0L, 5, 3L, 6, ANON_PRIVATE, 7, REGULAR_ANON, 8, 1L),
                Map.of(1, 0x28000L, 2, 0x40000L, 3, 0x1d000L, 4, 3L, 5, 3L, 6, FILE_PRIVATE, 7, REGULAR_FILE, 8, 1L, 10, 0L),
                Map.of(1, 0x50000L, 2, 0x58000L, 5, 3L, 6, ANON_PRIVATE, 7, REGULAR_ANON),
                Map.of(1, 0x60000L, 2, 0x70000L, 3, 0L, 4, 0L, 5, 3L, 6, ANON_PRIVATE, 7, REGULAR_ANON, 8, 1L),
                Map.of(1, 0x70000L, 2, 0x88000L, 3, 0L, 4, 0L, 5, 3L, 6, ANON_PRIVATE, 7, REGULAR_ANON, 8, 1L));
        ImageIndex after = ImageIndex.load(dir);
        assertThat(after.entries(1)).extracting(ImageIndex.Entry::vaddr, ImageIndex.Entry::pages, ImageIndex.Entry::flags,
                        ImageIndex.Entry::offset)
                .containsExactly(tuple(0x12000L, 20L, PRESENT | LAZY, 0L), tuple(0x26000L, 2L, PRESENT | LAZY, 20L * PAGE),
                        tuple(0x30000L, 2L, PRESENT, 22L * PAGE), tuple(0x50000L, 3L, PRESENT | LAZY, 24L * PAGE),
                        tuple(0x60000L, 16L, PRESENT | LAZY, 27L * PAGE), tuple(0x70000L, 24L, PRESENT | LAZY, 43L * PAGE));
        assertThat(after.totalPresentBytes()).as("the pages file is untouched").isEqualTo(before.totalPresentBytes());
        assertThat(after.lazyBytes() - before.lazyBytes()).isEqualTo(c.pages() * PAGE);
        assertThat(after.nonLazyRanges()).containsExactly(new ImageIndex.ByteRange(1, 22L * PAGE, 2L * PAGE));
        assertThat(after.vmas(1)[0]).contains(0x12000L, 0x28000L, 0x60000L, 0x70000L);
    }

    @Test
    void aConvertedImageIsLeftAlone() throws IOException {
        TestImages.write(dir, List.of(fileVma(0x10000, 0x30000, 0, 3, FILE_PRIVATE, REGULAR_FILE)),
                List.of(entry(0x10000, 32, PRESENT)), false);
        assertThat(PrivateFileCopies.makeLazy(dir)).isEqualTo(new PrivateFileCopies.Conversion(1, 32));
        assertThat(ImageIndex.load(dir).lazyBytes()).as("the old form of the page count").isEqualTo(32L * PAGE);
        byte[] mm = Files.readAllBytes(dir.resolve("mm-1.img"));
        byte[] pagemap = Files.readAllBytes(dir.resolve("pagemap-1.img"));

        assertThat(PrivateFileCopies.makeLazy(dir)).isEqualTo(new PrivateFileCopies.Conversion(0, 0));
        assertThat(Files.readAllBytes(dir.resolve("mm-1.img"))).isEqualTo(mm);
        assertThat(Files.readAllBytes(dir.resolve("pagemap-1.img"))).isEqualTo(pagemap);
    }

    @Test
    void shortRunsSpecialAndLockedMappingsStayAsTheyAre() throws IOException {
        long shortRun = PrivateFileCopies.MIN_RUN_PAGES - 1;
        TestImages.write(dir, List.of(
                        fileVma(0x10000, 0x30000, 0, 3, FILE_PRIVATE, REGULAR_FILE),
                        fileVma(0x40000, 0x60000, 0, 3, FILE_PRIVATE, REGULAR_FILE | (1 << 14)), // a memfd
                        fileVma(0x70000, 0x90000, 0, 3, FILE_PRIVATE | LOCKED, REGULAR_FILE),
                        fileVma(0xa0000, 0xc0000, 0, 3, 0x01, 0x81)), // shared
                List.of(entry(0x10000, shortRun, PRESENT), entry(0x40000, 32, PRESENT), entry(0x70000, 32, PRESENT),
                        entry(0xa0000, 32, PRESENT)), true);
        byte[] mm = Files.readAllBytes(dir.resolve("mm-1.img"));

        assertThat(PrivateFileCopies.makeLazy(dir)).isEqualTo(new PrivateFileCopies.Conversion(0, 0));
        assertThat(Files.readAllBytes(dir.resolve("mm-1.img"))).isEqualTo(mm);
        assertThat(ImageIndex.load(dir).lazyBytes()).isZero();
    }

    @Test
    void refusesAPagemapWithFieldsItWouldDropAndLeavesTheImageAsItWas() throws IOException {
        TestImages.write(dir, List.of(fileVma(0x10000, 0x30000, 0, 3, FILE_PRIVATE, REGULAR_FILE)),
                List.of(entry(0x10000, 32, PRESENT)), true);
        Path pagemap = dir.resolve("pagemap-1.img");
        byte[] withNewField = TestImages.concat(Files.readAllBytes(pagemap),
                TestImages.record(message(1, 0x40000, 5, 1, 4, PRESENT, 9, 7)));
        Files.write(pagemap, withNewField);
        byte[] mm = Files.readAllBytes(dir.resolve("mm-1.img"));

        assertThatThrownBy(() -> PrivateFileCopies.makeLazy(dir)).isInstanceOf(LazyPagesException.class)
                .hasMessageContaining("field 9").hasMessageContaining("private file mappings are not made lazy");
        assertThat(Files.readAllBytes(pagemap)).isEqualTo(withNewField);
        assertThat(Files.readAllBytes(dir.resolve("mm-1.img"))).isEqualTo(mm);
    }

    /** @return the VMA entries of mm-1.img, each as field number to value */
    private List<Map<Integer, Long>> vmas() throws IOException {
        List<Map<Integer, Long>> out = new ArrayList<>();
        Path mm = dir.resolve("mm-1.img");
        ImageFile.Message m = ImageFile.records(mm, ImageFile.MM_MAGIC).getFirst();
        for (ImageFile.Field f : ImageFile.Field.all(m)) {
            if (f.number() == 14) {
                Map<Integer, Long> vma = new TreeMap<>();
                ImageFile.Field.all(new ImageFile.Message(ByteBuffer.wrap(f.bytes()), mm)).forEach(v -> vma.put(v.number(), v.value()));
                out.add(vma);
            }
        }
        return out;
    }
}
