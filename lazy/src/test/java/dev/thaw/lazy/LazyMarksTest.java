package dev.thaw.lazy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
    private static final long ANON_PRIVATE = 0x22;
    private static final long FILE_PRIVATE = 0x02;
    private static final long REGULAR_ANON = 0x201;
    private static final long VDSO = 0x209;
    private static final int PRESENT = ImageIndex.PE_PRESENT;
    private static final int LAZY = ImageIndex.PE_LAZY;

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

    private record Entry(long vaddr, long pages, int flags) {
    }

    private static Vma vma(long start, long end, long flags, long status) {
        return new Vma(start, end, flags, status);
    }

    private static Entry entry(long vaddr, long pages, int flags) {
        return new Entry(vaddr, pages, flags);
    }

    /** pstree with pid 1, its mm, and its pagemap (page count as u64 field 5 like CRIU 4.2, or u32 field 2). */
    private void image(List<Vma> vmas, List<Entry> entries, boolean wideCount) throws IOException {
        Files.write(dir.resolve("pstree.img"), file(ImageFile.PSTREE_MAGIC, record(message(1, 1))));
        ByteArrayOutputStream mm = new ByteArrayOutputStream();
        for (Vma v : vmas) {
            lengthDelimited(mm, 14, message(1, v.start(), 2, v.end(), 5, 3, 6, v.flags(), 7, v.status()));
        }
        Files.write(dir.resolve("mm-1.img"), file(ImageFile.MM_MAGIC, record(mm.toByteArray())));
        ByteArrayOutputStream pagemap = new ByteArrayOutputStream();
        pagemap.writeBytes(record(message(1, 1)));
        for (Entry e : entries) {
            pagemap.writeBytes(record(wideCount ? message(1, e.vaddr(), 2, 0, 4, e.flags(), 5, e.pages())
                    : message(1, e.vaddr(), 2, e.pages(), 4, e.flags())));
        }
        Files.write(dir.resolve("pagemap-1.img"), file(ImageFile.PAGEMAP_MAGIC, pagemap.toByteArray()));
    }

    private static byte[] file(int magic, byte[] records) {
        ByteBuffer head = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(ImageFile.IMG_COMMON_MAGIC).putInt(magic);
        return concat(head.array(), records);
    }

    private static byte[] record(byte[] message) {
        return concat(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(message.length).array(), message);
    }

    /** @param fieldsAndValues field number, value, field number, value... (all varints) */
    private static byte[] message(long... fieldsAndValues) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < fieldsAndValues.length; i += 2) {
            varint(out, fieldsAndValues[i] << 3);
            varint(out, fieldsAndValues[i + 1]);
        }
        return out.toByteArray();
    }

    private static void lengthDelimited(ByteArrayOutputStream out, int field, byte[] bytes) {
        varint(out, ((long) field << 3) | 2);
        varint(out, bytes.length);
        out.writeBytes(bytes);
    }

    private static void varint(ByteArrayOutputStream out, long value) {
        while ((value & ~0x7fL) != 0) {
            out.write((int) (value & 0x7f) | 0x80);
            value >>>= 7;
        }
        out.write((int) value);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
