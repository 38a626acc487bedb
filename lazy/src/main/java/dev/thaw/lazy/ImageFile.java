package dev.thaw.lazy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads CRIU protobuf image files: two u32 magics (the common {@code 0x54564319}, then the
 * type's own), then records {@code [u32 length][message]} to the end of the file, all little-endian.
 * {@link Message} walks one message's fields; only what the daemon needs is decoded, so no protobuf
 * library (and no generated code) is involved.
 */
final class ImageFile {
    static final int IMG_COMMON_MAGIC = 0x54564319;
    static final int PSTREE_MAGIC = 0x50273030;
    static final int PAGEMAP_MAGIC = 0x56084025;
    static final int MM_MAGIC = 0x57492820;

    private ImageFile() {
    }

    /**
     * @return the file's messages
     * @throws NoSuchFileException when the file does not exist
     * @throws LazyPagesException when it is not an image of the expected type
     */
    static List<Message> records(Path file, int typeMagic) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (in.remaining() < 8 || in.getInt() != IMG_COMMON_MAGIC || in.getInt() != typeMagic) {
            throw new LazyPagesException(file + " is not a CRIU image of the expected type (magic 0x"
                    + Integer.toHexString(typeMagic) + ")");
        }
        List<Message> messages = new ArrayList<>();
        while (in.hasRemaining()) {
            if (in.remaining() < 4) {
                throw new LazyPagesException(file + " ends inside a record header");
            }
            int length = in.getInt();
            if (length < 0 || length > in.remaining()) {
                throw new LazyPagesException(file + " has a record of " + length + " bytes past its end");
            }
            messages.add(new Message(in.slice(in.position(), length), file));
            in.position(in.position() + length);
        }
        return messages;
    }

    /** One protobuf message; {@link #next()} steps through its fields in file order. */
    static final class Message {
        private static final int VARINT = 0;
        private static final int FIXED64 = 1;
        private static final int LENGTH_DELIMITED = 2;
        private static final int FIXED32 = 5;

        private final ByteBuffer in;
        private final Path file;
        private int field;
        private int wireType;
        private long value;
        private ByteBuffer bytes;

        Message(ByteBuffer in, Path file) {
            this.in = in.order(ByteOrder.LITTLE_ENDIAN);
            this.file = file;
        }

        /** @return whether there was another field; then {@link #field()} and a value accessor describe it */
        boolean next() {
            if (!in.hasRemaining()) {
                return false;
            }
            long key = varint();
            field = (int) (key >>> 3);
            wireType = (int) (key & 7);
            bytes = null;
            switch (wireType) {
                case VARINT -> value = varint();
                case FIXED64 -> value = in.getLong();
                case FIXED32 -> value = in.getInt() & 0xffffffffL;
                case LENGTH_DELIMITED -> {
                    int length = (int) varint();
                    bytes = in.slice(in.position(), length);
                    in.position(in.position() + length);
                }
                default -> throw new LazyPagesException(file + ": unsupported protobuf wire type " + wireType);
            }
            return true;
        }

        int field() {
            return field;
        }

        /** @return the current field as it is encoded, so that a rewrite can keep fields it does not change */
        Field raw() {
            return new Field(field, wireType, value, bytes == null ? null : bytesOf(bytes));
        }

        /** @return the highest field number in the message, wherever {@link #next()} has got to */
        int highestField() {
            Message again = new Message(in.slice(0, in.limit()), file);
            int highest = 0;
            while (again.next()) {
                highest = Math.max(highest, again.field());
            }
            return highest;
        }

        /** @return the whole message as it is in the file, wherever {@link #next()} has got to */
        byte[] rawBytes() {
            byte[] raw = new byte[in.limit()];
            in.get(0, raw);
            return raw;
        }

        /** @return the value of a scalar field */
        long value() {
            return value;
        }

        /** @return an embedded message */
        Message message() {
            if (bytes == null) {
                throw new LazyPagesException(file + ": field " + field + " is not a message");
            }
            return new Message(bytes, file);
        }

        /** @return the values of a repeated scalar field, whether it was packed or not */
        List<Long> values() {
            if (wireType != LENGTH_DELIMITED) {
                return List.of(value);
            }
            Message packed = new Message(bytes, file);
            List<Long> out = new ArrayList<>();
            while (packed.in.hasRemaining()) {
                out.add(packed.varint());
            }
            return out;
        }

        private long varint() {
            long result = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                byte b = in.get();
                result |= (long) (b & 0x7f) << shift;
                if (b >= 0) {
                    return result;
                }
            }
            throw new LazyPagesException(file + ": malformed varint");
        }
    }

    /**
     * One pagemap entry ({@code PagemapEntry}: vaddr 1, nr_pages 2, in_parent 3, flags 4, nr_pages
     * 5). {@code wideCount}: CRIU 4.2 writes the page count as u64 field 5 (and 0 in the old u32 field
     * 2); older images have only field 2. A re-encoded entry keeps the form it came in. Fields this
     * class does not know are skipped (a rewrite would drop them: see LazyMarks).
     */
    record PagemapEntry(long vaddr, long pages, long flags, boolean wideCount) {
        /** The highest field number of an entry this class reads and writes. */
        static final int LAST_FIELD = 5;

        /** @throws LazyPagesException when the entry's pages are in a parent image */
        static PagemapEntry decode(Message m, Path file) {
            long vaddr = 0;
            long pages = 0;
            long flags = 0;
            boolean wide = false;
            boolean inParent = false;
            while (m.next()) {
                switch (m.field()) {
                    case 1 -> vaddr = m.value();
                    case 2 -> pages = Math.max(pages, m.value());
                    case 3 -> inParent = m.value() != 0;
                    case 4 -> flags = m.value();
                    case 5 -> {
                        pages = m.value();
                        wide = true;
                    }
                    default -> { }
                }
            }
            if (inParent || (flags & ImageIndex.PE_PARENT) != 0) {
                throw new LazyPagesException(file + " has pages in a parent image (0x" + Long.toHexString(vaddr)
                        + "): incremental images are not supported");
            }
            return new PagemapEntry(vaddr, pages, flags, wide);
        }

        byte[] encode() {
            ByteArrayOutputStream out = new ByteArrayOutputStream(32);
            varintField(out, 1, vaddr);
            varintField(out, 2, wideCount ? 0 : pages);
            varintField(out, 4, flags);
            if (wideCount) {
                varintField(out, 5, pages);
            }
            return out.toByteArray();
        }

        private static void varintField(ByteArrayOutputStream out, int number, long value) {
            varint(out, (long) number << 3); // wire type 0: varint
            varint(out, value);
        }

        private static void varint(ByteArrayOutputStream out, long value) {
            while ((value & ~0x7fL) != 0) {
                out.write((int) (value & 0x7f) | 0x80);
                value >>>= 7;
            }
            out.write((int) value);
        }
    }

    /**
     * A task's pagemap file: its head record (the {@code pages_id}) and its entries, in file order.
     *
     * @param file where it was read from
     * @param head the head record, as it is in the file
     * @param entries the entries after it
     * @param highestEntryField the highest field number any entry has
     */
    record Pagemap(Path file, Message head, List<PagemapEntry> entries, int highestEntryField) {
        /** @throws LazyPagesException when the file has no head record, or an entry is in a parent image */
        static Pagemap read(Path file) throws IOException {
            List<Message> records = records(file, PAGEMAP_MAGIC);
            if (records.isEmpty()) {
                throw new LazyPagesException(file + " has no head record");
            }
            List<PagemapEntry> entries = new ArrayList<>();
            int highest = 0;
            for (Message m : records.subList(1, records.size())) {
                highest = Math.max(highest, m.highestField());
                entries.add(PagemapEntry.decode(m, file));
            }
            return new Pagemap(file, records.getFirst(), List.copyOf(entries), highest);
        }

        /**
         * Refuses a rewrite of entries that have fields {@link PagemapEntry#encode} would drop (a
         * newer CRIU's).
         *
         * @param consequence what is not done then, for the message
         */
        void requireKnownFields(String consequence) {
            if (highestEntryField > PagemapEntry.LAST_FIELD) {
                throw new LazyPagesException(file + " has a pagemap field " + highestEntryField
                        + " this version does not know: " + consequence);
            }
        }
    }

    /**
     * One field of a message as encoded: a scalar's value (varint, fixed32, fixed64), or the bytes of
     * a length-delimited field. {@link #encode} writes fields back without knowing what they mean.
     *
     * @param number the field number
     * @param wireType the protobuf wire type
     * @param value the value of a scalar field
     * @param bytes the payload of a length-delimited field, else null
     */
    record Field(int number, int wireType, long value, byte[] bytes) {
        static final int VARINT = 0;
        static final int LENGTH_DELIMITED = 2;

        /** @return a varint field */
        static Field varint(int number, long value) {
            return new Field(number, VARINT, value, null);
        }

        /** @return an embedded message */
        static Field message(int number, byte[] bytes) {
            return new Field(number, LENGTH_DELIMITED, 0, bytes);
        }

        /** @return every field of {@code m} from where it is, in order */
        static List<Field> all(Message m) {
            List<Field> out = new ArrayList<>();
            while (m.next()) {
                out.add(m.raw());
            }
            return out;
        }

        /** @return the fields encoded as one message, in the order given */
        static byte[] encode(List<Field> fields) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(64);
            for (Field f : fields) {
                writeVarint(out, ((long) f.number() << 3) | f.wireType());
                switch (f.wireType()) {
                    case VARINT -> writeVarint(out, f.value());
                    case 1 -> out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(f.value()).array());
                    case LENGTH_DELIMITED -> {
                        writeVarint(out, f.bytes().length);
                        out.writeBytes(f.bytes());
                    }
                    case 5 -> out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) f.value()).array());
                    default -> throw new IllegalArgumentException("wire type " + f.wireType());
                }
            }
            return out.toByteArray();
        }

        private static void writeVarint(ByteArrayOutputStream out, long value) {
            while ((value & ~0x7fL) != 0) {
                out.write((int) (value & 0x7f) | 0x80);
                value >>>= 7;
            }
            out.write((int) value);
        }
    }

    /**
     * Replaces {@code file} atomically by an image of type {@code typeMagic} holding {@code records}
     * (each message written as {@code [u32 length][message]}).
     */
    static void write(Path file, int typeMagic, List<byte[]> records) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(IMG_COMMON_MAGIC).putInt(typeMagic).array());
        for (byte[] message : records) {
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(message.length).array());
            out.writeBytes(message);
        }
        Path temp = file.resolveSibling("." + file.getFileName() + ".rewrite");
        Files.write(temp, out.toByteArray());
        Files.move(temp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static byte[] bytesOf(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.get(b.position(), out);
        return out;
    }

    /**
     * One mapping of a task ({@code VmaEntry}), the numbers of its fields that the image's readers
     * and rewrites use, and the bits of its flags ({@code mmap}'s) and status (CRIU's) they look at.
     */
    record VmaEntry(long start, long end, long flags, long status) {
        /** {@code MmEntry.vmas}: one field per mapping, in the mm image. */
        static final int MM_VMAS = 14;
        static final int START = 1;
        static final int END = 2;
        static final int PGOFF = 3;
        static final int SHMID = 4;
        static final int FLAGS = 6;
        static final int STATUS = 7;
        static final int FD = 8;
        static final int FDFLAGS = 10;
        static final long MAP_PRIVATE = 0x02;
        static final long MAP_ANONYMOUS = 0x20;
        static final long MAP_LOCKED = 0x2000;
        static final long MAP_HUGETLB = 0x40000;
        static final long VMA_AREA_REGULAR = 1;
        static final long VMA_AREA_VSYSCALL = 1 << 2;
        static final long VMA_AREA_VDSO = 1 << 3;
        static final long VMA_FILE_PRIVATE = 1 << 6;
        static final long VMA_ANON_PRIVATE = 1 << 9;
        static final long VMA_AREA_VVAR = 1 << 12;
    }

    /** @return the task's mappings in file order (sorted by CRIU); empty when the image has no mm file */
    static List<VmaEntry> vmas(Path dir, int pid) throws IOException {
        Path mm = dir.resolve("mm-" + pid + ".img");
        List<VmaEntry> vmas = new ArrayList<>();
        if (!Files.exists(mm)) {
            return vmas;
        }
        for (Message m : records(mm, MM_MAGIC)) {
            while (m.next()) {
                if (m.field() == VmaEntry.MM_VMAS) {
                    vmas.add(vma(m.message()));
                }
            }
        }
        return vmas;
    }

    private static VmaEntry vma(Message m) {
        long start = 0;
        long end = 0;
        long flags = 0;
        long status = 0;
        while (m.next()) {
            switch (m.field()) {
                case VmaEntry.START -> start = m.value();
                case VmaEntry.END -> end = m.value();
                case VmaEntry.FLAGS -> flags = m.value();
                case VmaEntry.STATUS -> status = m.value();
                default -> { }
            }
        }
        return new VmaEntry(start, end, flags, status);
    }
}
