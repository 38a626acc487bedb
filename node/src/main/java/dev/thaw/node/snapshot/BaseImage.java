package dev.thaw.node.snapshot;

import dev.thaw.lazy.ImageIndex;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/*
 * What CRIU needs on disk for a lazy restore, packed into one stored object next to the snapshot
 * (`<snapshot>.base`): every image file except the page files, whole, and of the page files only
 * the ranges CRIU installs itself (memory it cannot leave to a page server: file-backed private
 * mappings, the vDSO...); the rest of each page file stays a hole.
 *
 * Why: materialized from the snapshot itself, that image costs a store read per small file (an
 * image has dozens, each its own chunk) plus whole chunks around each range (a few pages of a
 * range drag in 512 KiB): for the hello example 26 + 17 chunk reads, 30-40 ms on this project's
 * machines. Packed, it is one object of a few MB read in parallel chunks.
 *
 * Format: "THAWBASE", a version, the entry count, then per entry its file name, the file's size, the
 * range's offset and length (a whole file is the range [0, size)); then the entries' bytes, in order.
 */
/** Packs and unpacks the part of a CRIU image that a lazy restore materializes. */
final class BaseImage {
    static final String FILE = "base";
    private static final byte[] MAGIC = "THAWBASE".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final int VERSION = 1;

    private record Entry(String file, long fileSize, long offset, int length) {
    }

    private BaseImage() {
    }

    /** Writes the base image of the CRIU image in {@code imagesDir} to {@code out}. */
    static void write(Path imagesDir, Path out) throws IOException {
        write(imagesDir, ImageIndex.load(imagesDir).nonLazyRanges(), out);
    }

    /**
     * Writes a base image of {@code imagesDir} holding its files other than page files whole, and
     * of its page files only {@code ranges}.
     */
    static void write(Path imagesDir, List<ImageIndex.ByteRange> ranges, Path out) throws IOException {
        List<Entry> entries = new ArrayList<>();
        try (Stream<Path> files = Files.list(imagesDir)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                String name = f.getFileName().toString();
                long size = Files.size(f);
                // every page file gets an entry, so it exists at its full size even with no range
                entries.add(new Entry(name, size, 0, ImageIndex.isPagesFile(name) ? 0 : Math.toIntExact(size)));
            }
        }
        for (ImageIndex.ByteRange r : ranges) {
            entries.add(new Entry(r.pagesFile(), Files.size(imagesDir.resolve(r.pagesFile())), r.offset(),
                    Math.toIntExact(r.length())));
        }
        try (OutputStream file = Files.newOutputStream(out, StandardOpenOption.CREATE_NEW);
             DataOutputStream data = new DataOutputStream(new java.io.BufferedOutputStream(file, 1 << 16))) {
            data.write(MAGIC);
            data.writeInt(VERSION);
            data.writeInt(entries.size());
            for (Entry e : entries) {
                data.writeUTF(e.file());
                data.writeLong(e.fileSize());
                data.writeLong(e.offset());
                data.writeInt(e.length());
            }
            for (Entry e : entries) {
                copy(imagesDir.resolve(e.file()), e.offset(), e.length(), data);
            }
        }
    }

    private static void copy(Path file, long offset, int length, OutputStream out) throws IOException {
        if (length == 0) {
            return;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate(length);
            while (buf.hasRemaining()) {
                if (ch.read(buf, offset + buf.position()) < 0) {
                    throw new IOException(file + " ended before offset " + (offset + length));
                }
            }
            out.write(buf.array());
        }
    }

    /**
     * Writes the files of a base image into {@code dir}: whole files, and page files at their full
     * size with only their ranges written (holes elsewhere).
     *
     * @throws IOException when {@code bundle} is not a base image, or writing fails
     */
    static void unpack(byte[] bundle, Path dir) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bundle));
        byte[] magic = in.readNBytes(MAGIC.length);
        if (!java.util.Arrays.equals(magic, MAGIC) || in.readInt() != VERSION) {
            throw new IOException("not a base image of this version");
        }
        int count = in.readInt();
        List<Entry> entries = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            entries.add(new Entry(in.readUTF(), in.readLong(), in.readLong(), in.readInt()));
        }
        int at = bundle.length - in.available();
        Files.createDirectories(dir);
        for (Entry e : entries) {
            if (e.file().contains("/") || e.file().startsWith(".")) {
                throw new IOException("base image names a file outside its directory: " + e.file());
            }
            if (at + (long) e.length() > bundle.length) {
                throw new IOException("base image is truncated at " + e.file());
            }
            try (FileChannel ch = FileChannel.open(dir.resolve(e.file()), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                ByteBuffer buf = ByteBuffer.wrap(bundle, at, e.length());
                while (buf.hasRemaining()) {
                    ch.write(buf, e.offset() + buf.position() - at);
                }
                if (ch.size() < e.fileSize()) {
                    ch.write(ByteBuffer.wrap(new byte[1]), e.fileSize() - 1);
                }
            }
            at += e.length();
        }
    }
}
