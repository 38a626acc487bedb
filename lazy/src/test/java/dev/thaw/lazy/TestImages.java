package dev.thaw.lazy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Hand-written CRIU images of one task (pid 1) for the tests of the image rewrites. */
final class TestImages {
    static final long ANON_PRIVATE = 0x22;
    static final long FILE_PRIVATE = 0x02;
    static final long REGULAR_ANON = 0x201;
    static final long REGULAR_FILE = 0x41;
    static final int PRESENT = ImageIndex.PE_PRESENT;
    static final int LAZY = ImageIndex.PE_LAZY;

    private TestImages() {
    }

    /** One pagemap entry. */
    record Entry(long vaddr, long pages, int flags) {
    }

    static Entry entry(long vaddr, long pages, int flags) {
        return new Entry(vaddr, pages, flags);
    }

    /** @return a VMA entry with start, end, prot 3, flags and status (the fields LazyMarks reads) */
    static byte[] vma(long start, long end, long flags, long status) {
        return message(1, start, 2, end, 5, 3, 6, flags, 7, status);
    }

    /** pstree with pid 1, its mm holding {@code vmas}, its pagemap (page count as CRIU 4.2's u64 field 5, or u32 field 2). */
    static void write(Path dir, List<byte[]> vmas, List<Entry> entries, boolean wideCount) throws IOException {
        Files.write(dir.resolve("pstree.img"), file(ImageFile.PSTREE_MAGIC, record(message(1, 1))));
        ByteArrayOutputStream mm = new ByteArrayOutputStream();
        mm.writeBytes(message(1, 0x400000)); // mm_start_code: a field of the mm besides the VMAs
        for (byte[] v : vmas) {
            lengthDelimited(mm, 14, v);
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

    static byte[] file(int magic, byte[] records) {
        ByteBuffer head = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(ImageFile.IMG_COMMON_MAGIC).putInt(magic);
        return concat(head.array(), records);
    }

    static byte[] record(byte[] message) {
        return concat(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(message.length).array(), message);
    }

    /** @param fieldsAndValues field number, value, field number, value... (all varints) */
    static byte[] message(long... fieldsAndValues) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < fieldsAndValues.length; i += 2) {
            varint(out, fieldsAndValues[i] << 3);
            varint(out, fieldsAndValues[i + 1]);
        }
        return out.toByteArray();
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
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
}
