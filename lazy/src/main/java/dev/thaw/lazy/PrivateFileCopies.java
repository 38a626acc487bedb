package dev.thaw.lazy;

import static dev.thaw.lazy.ImageFile.VmaEntry.END;
import static dev.thaw.lazy.ImageFile.VmaEntry.FD;
import static dev.thaw.lazy.ImageFile.VmaEntry.FDFLAGS;
import static dev.thaw.lazy.ImageFile.VmaEntry.FLAGS;
import static dev.thaw.lazy.ImageFile.VmaEntry.MAP_ANONYMOUS;
import static dev.thaw.lazy.ImageFile.VmaEntry.MAP_HUGETLB;
import static dev.thaw.lazy.ImageFile.VmaEntry.MAP_LOCKED;
import static dev.thaw.lazy.ImageFile.VmaEntry.MAP_PRIVATE;
import static dev.thaw.lazy.ImageFile.VmaEntry.MM_VMAS;
import static dev.thaw.lazy.ImageFile.VmaEntry.PGOFF;
import static dev.thaw.lazy.ImageFile.VmaEntry.SHMID;
import static dev.thaw.lazy.ImageFile.VmaEntry.START;
import static dev.thaw.lazy.ImageFile.VmaEntry.STATUS;
import static dev.thaw.lazy.ImageFile.VmaEntry.VMA_ANON_PRIVATE;
import static dev.thaw.lazy.ImageFile.VmaEntry.VMA_AREA_REGULAR;
import static dev.thaw.lazy.ImageFile.VmaEntry.VMA_FILE_PRIVATE;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/*
 * Why: CRIU leaves only anonymous private memory to a lazy-pages daemon. The pages a process has
 * written in a private file mapping (copies on write of the file's pages) are dumped into the image
 * too, but a --lazy-pages restore reads them itself, before the tasks run, into memory it has just
 * mapped: one page fault per page. A JVM has ~6 MB of them: the writable region of its CDS archive
 * (4.7 MB, class metadata the JVM updates as it runs) and the relocated data of libjvm.so. On the
 * tenth session's VM (a page fault ~12 µs) that read was 14-22 ms of every lazy or REAP restore of
 * the hello example, on the critical path.
 *
 * What: after the dump, every run of at least MIN_RUN_PAGES dumped pages of a private file mapping
 * becomes a mapping of its own that is anonymous and private, its pages marked lazy; the rest of the
 * file mapping stays as it was (split around the run, its file offset adjusted). The pages file is
 * not touched: the run's bytes are where they were, and they are exactly what the process had there
 * (CRIU dumps no page of a private file mapping that is still the file's). A restore then maps
 * anonymous memory where the process had the file, and the daemon installs those pages with the
 * working set, or on their first fault. The restored process sees the same bytes at the same
 * addresses with the same protection; what differs is what backs them, which matters only to a
 * program that would drop such pages (MADV_DONTNEED reads the file again in a file mapping, zeros in
 * an anonymous one): the JVM and glibc do not do that to their archive or data.
 *
 * Why after the dump and not in the running process (copy the region, mremap an anonymous copy over
 * it): the process keeps running while it is copied, and a write that lands between the copy and
 * the remap is lost; tried with libjvm's data, the JVM hung. The dump is a frozen, consistent copy.
 *
 * Runs shorter than MIN_RUN_PAGES are left to CRIU: each split adds mappings, which cost CRIU more
 * to restore than reading a few pages does.
 */
/**
 * Lets lazy restores leave the copied-on-write pages of private file mappings to the page server:
 * rewrites an image's mappings and pagemaps so that those pages are anonymous and lazy.
 */
public final class PrivateFileCopies {
    private static final System.Logger LOG = System.getLogger(PrivateFileCopies.class.getName());
    /** Runs of fewer dumped pages stay in their file mapping (see the design note above). */
    static final long MIN_RUN_PAGES = 16;
    private static final int PAGE = ImageIndex.PAGE_SIZE;
    /** Any status bit but these marks a special mapping (vDSO, vvar, AIO ring, memfd...), left alone. */
    private static final long PLAIN_FILE_PRIVATE = VMA_AREA_REGULAR | VMA_FILE_PRIVATE;
    /** {@code fd = -1} as CRIU writes it for anonymous memory (a zigzag-encoded sint64). */
    private static final long NO_FD = 1;

    private PrivateFileCopies() {
    }

    /**
     * What {@link #makeLazy} did.
     *
     * @param mappings how many runs became anonymous mappings
     * @param pages how many pages they hold (now lazy)
     */
    public record Conversion(int mappings, long pages) {
    }

    /**
     * Rewrites the image in {@code imagesDir} (each file replaced atomically, mappings before
     * pagemaps, so that an interrupted rewrite leaves an image CRIU restores correctly: an anonymous
     * mapping whose pages it reads itself).
     *
     * @return what was converted (nothing for an image without such runs, or one converted before)
     * @throws LazyPagesException when an image file cannot be read or written, or holds fields this
     *     version does not know
     */
    public static Conversion makeLazy(Path imagesDir) {
        int mappings = 0;
        long pages = 0;
        try {
            for (int pid : ImageIndex.pids(imagesDir)) {
                Conversion c = convertTask(imagesDir, pid);
                mappings += c.mappings();
                pages += c.pages();
            }
        } catch (IOException e) {
            throw new LazyPagesException("cannot rewrite the private file mappings of the image in " + imagesDir + ": "
                    + e.getMessage(), e);
        }
        return new Conversion(mappings, pages);
    }

    private record Run(long start, long end) {
        long pages() {
            return (end - start) / PAGE;
        }
    }

    private static Conversion convertTask(Path dir, int pid) throws IOException {
        Path pagemap = dir.resolve("pagemap-" + pid + ".img");
        Path mm = dir.resolve("mm-" + pid + ".img");
        if (!Files.exists(pagemap) || !Files.exists(mm)) {
            return new Conversion(0, 0); // a zombie
        }
        ImageFile.Pagemap read = ImageFile.Pagemap.read(pagemap);
        List<ImageFile.PagemapEntry> entries = read.entries();
        List<ImageFile.Message> mmRecords = ImageFile.records(mm, ImageFile.MM_MAGIC);
        if (mmRecords.size() != 1) {
            throw new LazyPagesException(mm + " has " + mmRecords.size() + " records, not one");
        }
        List<ImageFile.Field> mmFields = ImageFile.Field.all(mmRecords.getFirst());
        List<Run> runs = new ArrayList<>();
        List<ImageFile.Field> rewritten = new ArrayList<>();
        for (ImageFile.Field f : mmFields) {
            if (f.number() != MM_VMAS) {
                rewritten.add(f);
                continue;
            }
            List<ImageFile.Field> vma = ImageFile.Field.all(new ImageFile.Message(java.nio.ByteBuffer.wrap(f.bytes()), mm));
            List<Run> copies = isPlainFilePrivate(vma) ? dumpedRuns(vma, entries) : List.of();
            runs.addAll(copies);
            for (List<ImageFile.Field> part : split(vma, copies)) {
                rewritten.add(ImageFile.Field.message(MM_VMAS, ImageFile.Field.encode(part)));
            }
        }
        if (runs.isEmpty()) {
            return new Conversion(0, 0);
        }
        read.requireKnownFields("its private file mappings are not made lazy");
        List<ImageFile.PagemapEntry> marked = new ArrayList<>();
        for (ImageFile.PagemapEntry e : entries) {
            marked.addAll(markLazy(e, runs));
        }
        ImageFile.write(mm, ImageFile.MM_MAGIC, List.of(ImageFile.Field.encode(rewritten)));
        LazyMarks.write(pagemap, read.head(), marked);
        long pages = runs.stream().mapToLong(Run::pages).sum();
        LOG.log(System.Logger.Level.DEBUG, "{0}: pid {1}: {2} runs of {3} copied-on-write file pages made anonymous and lazy",
                dir, pid, runs.size(), pages);
        return new Conversion(runs.size(), pages);
    }

    private static boolean isPlainFilePrivate(List<ImageFile.Field> vma) {
        long flags = value(vma, FLAGS);
        return value(vma, STATUS) == PLAIN_FILE_PRIVATE && (flags & MAP_PRIVATE) != 0
                && (flags & (MAP_ANONYMOUS | MAP_LOCKED | MAP_HUGETLB)) == 0;
    }

    /** @return the runs of at least {@link #MIN_RUN_PAGES} present, non-lazy pages inside the mapping */
    private static List<Run> dumpedRuns(List<ImageFile.Field> vma, List<ImageFile.PagemapEntry> entries) {
        long start = value(vma, START);
        long end = value(vma, END);
        List<Run> runs = new ArrayList<>();
        long runStart = -1;
        long runEnd = -1;
        for (ImageFile.PagemapEntry e : entries) {
            long from = Math.max(start, e.vaddr());
            long to = Math.min(end, e.vaddr() + e.pages() * PAGE);
            boolean dumped = (e.flags() & ImageIndex.PE_PRESENT) != 0 && (e.flags() & ImageIndex.PE_LAZY) == 0;
            if (from >= to || !dumped) {
                continue;
            }
            if (from == runEnd) {
                runEnd = to;
                continue;
            }
            addRun(runs, runStart, runEnd);
            runStart = from;
            runEnd = to;
        }
        addRun(runs, runStart, runEnd);
        return runs;
    }

    private static void addRun(List<Run> runs, long start, long end) {
        if (start >= 0 && (end - start) / PAGE >= MIN_RUN_PAGES) {
            runs.add(new Run(start, end));
        }
    }

    /** @return the mapping cut around {@code copies}: file parts as they were (offset adjusted), copies anonymous */
    private static List<List<ImageFile.Field>> split(List<ImageFile.Field> vma, List<Run> copies) {
        if (copies.isEmpty()) {
            return List.of(vma);
        }
        List<List<ImageFile.Field>> parts = new ArrayList<>();
        long at = value(vma, START);
        for (Run copy : copies) {
            if (copy.start() > at) {
                parts.add(filePart(vma, at, copy.start()));
            }
            parts.add(anonymousPart(vma, copy));
            at = copy.end();
        }
        if (at < value(vma, END)) {
            parts.add(filePart(vma, at, value(vma, END)));
        }
        return parts;
    }

    private static List<ImageFile.Field> filePart(List<ImageFile.Field> vma, long start, long end) {
        long pgoff = value(vma, PGOFF) + (start - value(vma, START));
        List<ImageFile.Field> out = new ArrayList<>();
        for (ImageFile.Field f : vma) {
            out.add(switch (f.number()) {
                case START -> ImageFile.Field.varint(START, start);
                case END -> ImageFile.Field.varint(END, end);
                case PGOFF -> ImageFile.Field.varint(PGOFF, pgoff);
                default -> f;
            });
        }
        return out;
    }

    /** As CRIU describes anonymous private memory: no file, no offset, fd -1. */
    private static List<ImageFile.Field> anonymousPart(List<ImageFile.Field> vma, Run copy) {
        List<ImageFile.Field> out = new ArrayList<>();
        for (ImageFile.Field f : vma) {
            switch (f.number()) {
                case START -> out.add(ImageFile.Field.varint(START, copy.start()));
                case END -> out.add(ImageFile.Field.varint(END, copy.end()));
                case PGOFF -> out.add(ImageFile.Field.varint(PGOFF, 0));
                case SHMID -> out.add(ImageFile.Field.varint(SHMID, 0));
                case FLAGS -> out.add(ImageFile.Field.varint(FLAGS, f.value() | MAP_ANONYMOUS));
                case STATUS -> out.add(ImageFile.Field.varint(STATUS,
                        (f.value() & ~VMA_FILE_PRIVATE) | VMA_ANON_PRIVATE));
                case FD -> out.add(ImageFile.Field.varint(FD, NO_FD));
                case FDFLAGS -> { } // the open flags of the file it no longer maps
                default -> out.add(f);
            }
        }
        return out;
    }

    /** @return the entry split at the edges of {@code runs}, the parts inside them marked lazy */
    private static List<ImageFile.PagemapEntry> markLazy(ImageFile.PagemapEntry e, List<Run> runs) {
        List<ImageFile.PagemapEntry> parts = new ArrayList<>();
        long at = e.vaddr();
        long end = e.vaddr() + e.pages() * PAGE;
        for (Run r : runs) {
            long from = Math.max(at, r.start());
            long to = Math.min(end, r.end());
            if (from >= to) {
                continue;
            }
            if (from > at) {
                parts.add(new ImageFile.PagemapEntry(at, (from - at) / PAGE, e.flags(), e.wideCount()));
            }
            parts.add(new ImageFile.PagemapEntry(from, (to - from) / PAGE, e.flags() | ImageIndex.PE_LAZY, e.wideCount()));
            at = to;
        }
        if (at < end || parts.isEmpty()) {
            parts.add(new ImageFile.PagemapEntry(at, (end - at) / PAGE, e.flags(), e.wideCount()));
        }
        return parts;
    }

    private static long value(List<ImageFile.Field> fields, int number) {
        for (ImageFile.Field f : fields) {
            if (f.number() == number) {
                return f.value();
            }
        }
        throw new LazyPagesException("a VMA entry has no field " + number);
    }
}
