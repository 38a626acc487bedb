package dev.thaw.lazy;

import static dev.thaw.lazy.TestImages.ANON_PRIVATE;
import static dev.thaw.lazy.TestImages.FILE_PRIVATE;
import static dev.thaw.lazy.TestImages.LAZY;
import static dev.thaw.lazy.TestImages.PRESENT;
import static dev.thaw.lazy.TestImages.REGULAR_ANON;
import static dev.thaw.lazy.TestImages.concat;
import static dev.thaw.lazy.TestImages.entry;
import static dev.thaw.lazy.TestImages.file;
import static dev.thaw.lazy.TestImages.message;
import static dev.thaw.lazy.TestImages.record;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LazyMarks} on hand-written images: which pages it marks, how it splits entries, and what it
 * leaves alone. LazyRestoreTest checks it against what CRIU itself marks in a real image.
 */
class LazyMarksTest {
    private static final int PAGE = 4096;
    private static final long VDSO = 0x209;

    @TempDir
    Path dir;

    @Test
    void marksAnonymousPrivatePagesAndSplitsEntriesWhereTheMappingChanges() throws IOException {
        // 0x10000-0x14000 anonymous, 0x14000-0x16000 a private file mapping, 0x20000-0x21000 the vDSO,
        // 0x30000-0x38000 anonymous but locked
        image(List.of(vma(0x10000, 0x14000, ANON_PRIVATE, REGULAR_ANON), vma(0x14000, 0x16000, FILE_PRIVATE, 0x41),
                        vma(0x20000, 0x21000, ANON_PRIVATE, VDSO), vma(0x30000, 0x38000, ANON_PRIVATE | 0x2000, REGULAR_ANON)),
                List.of(entry(0x12000, 4, PRESENT), entry(0x20000, 1, PRESENT), entry(0x30000, 2, PRESENT)), true);

        LazyMarks.Repair repair = LazyMarks.repair(dir);

        assertThat(repair).isEqualTo(new LazyMarks.Repair(1, 2));
        assertThat(ImageIndex.load(dir).entries(1)).extracting(ImageIndex.Entry::vaddr, ImageIndex.Entry::pages,
                        ImageIndex.Entry::flags)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(0x12000L, 2L, PRESENT | LAZY),
                        org.assertj.core.groups.Tuple.tuple(0x14000L, 2L, PRESENT),
                        org.assertj.core.groups.Tuple.tuple(0x20000L, 1L, PRESENT),
                        org.assertj.core.groups.Tuple.tuple(0x30000L, 2L, PRESENT));
        assertThat(ImageIndex.load(dir).entries(1).get(1).offset()).as("offsets in the pages file unchanged")
                .isEqualTo(2L * PAGE);
    }

    @Test
    void keepsTheOldFormOfThePageCount() throws IOException {
        image(List.of(vma(0x10000, 0x20000, ANON_PRIVATE, REGULAR_ANON)), List.of(entry(0x10000, 3, PRESENT)), false);
        assertThat(LazyMarks.repair(dir)).isEqualTo(new LazyMarks.Repair(1, 3));
        assertThat(ImageIndex.load(dir).lazyBytes()).isEqualTo(3L * PAGE);
    }

    @Test
    void leavesAnImageWithLazyPagesAndOneWithNothingToMarkAlone() throws IOException {
        image(List.of(vma(0x10000, 0x20000, ANON_PRIVATE, REGULAR_ANON)),
                List.of(entry(0x10000, 1, PRESENT), entry(0x11000, 2, PRESENT | LAZY)), true);
        byte[] before = Files.readAllBytes(dir.resolve("pagemap-1.img"));
        assertThat(LazyMarks.repair(dir)).isEqualTo(new LazyMarks.Repair(0, 0));
        assertThat(Files.readAllBytes(dir.resolve("pagemap-1.img"))).isEqualTo(before);

        image(List.of(vma(0x10000, 0x20000, FILE_PRIVATE, 0x41)), List.of(entry(0x10000, 1, PRESENT)), true);
        assertThat(LazyMarks.repair(dir)).isEqualTo(new LazyMarks.Repair(0, 0));
    }

    @Test
    void refusesToRewriteWhatItCannotReadWhole() throws IOException {
        image(List.of(vma(0x10000, 0x20000, ANON_PRIVATE, REGULAR_ANON)), List.of(entry(0x10000, 1, PRESENT)), true);
        Path pagemap = dir.resolve("pagemap-1.img");
        byte[] withNewField = concat(Files.readAllBytes(pagemap), record(message(1, 0x10000, 5, 1, 4, PRESENT, 9, 7)));
        Files.write(pagemap, withNewField);
        assertThatThrownBy(() -> LazyMarks.repair(dir)).isInstanceOf(LazyPagesException.class).hasMessageContaining("field 9");
        assertThat(Files.readAllBytes(pagemap)).isEqualTo(withNewField);

        Files.write(pagemap, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> LazyMarks.repair(dir)).isInstanceOf(LazyPagesException.class);
        Files.write(pagemap, file(ImageFile.PAGEMAP_MAGIC, new byte[0]));
        assertThatThrownBy(() -> LazyMarks.repair(dir)).isInstanceOf(LazyPagesException.class).hasMessageContaining("no head record");
    }

    // ---------------------------------------------------------------- hand-written images

    private record Vma(long start, long end, long flags, long status) {
    }

    private static Vma vma(long start, long end, long flags, long status) {
        return new Vma(start, end, flags, status);
    }

    private void image(List<Vma> vmas, List<TestImages.Entry> entries, boolean wideCount) throws IOException {
        TestImages.write(dir, vmas.stream().map(v -> TestImages.vma(v.start(), v.end(), v.flags(), v.status())).toList(),
                entries, wideCount);
    }
}
