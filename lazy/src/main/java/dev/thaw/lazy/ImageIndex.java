package dev.thaw.lazy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Where each task's pages live in a CRIU image: parsed from {@code pstree.img} (the tasks),
 * {@code pagemap-<pid>.img} (which address ranges have pages, and whether they are lazy) and
 * {@code mm-<pid>.img} (the VMAs, because one userfaultfd copy may not cross a VMA boundary).
 *
 * <p>{@code pages-<pagesId>.img} is the concatenation of the PRESENT pages in pagemap order, so a
 * page's offset in it is the sum of the lengths of the PRESENT entries before its own. A
 * {@code --lazy-pages} restore reads only PRESENT entries without the LAZY flag itself (stacks,
 * file-backed and shared mappings); the daemon serves the LAZY ones. Hence the node materializes
 * only {@link #nonLazyRanges()} of the page files before running {@code criu restore}.
 *
 * <p>Immutable and safe to share between threads and between restores of one image.
 */
public final class ImageIndex {
    /** The page size the image was taken with (x86_64). */
    public static final int PAGE_SIZE = Userfaultfd.PAGE_SIZE;
    /** Pagemap flag: the pages are in the parent image (incremental dumps). */
    public static final int PE_PARENT = 1;
    /** Pagemap flag: the pages may be served lazily. */
    public static final int PE_LAZY = 2;
    /** Pagemap flag: the pages are in the page file. */
    public static final int PE_PRESENT = 4;

    private final Path directory;
    private final Map<Integer, TaskImage> tasks;

    /**
     * One pagemap entry.
     *
     * @param vaddr the first page's address
     * @param pages how many pages
     * @param flags {@link #PE_PRESENT}, {@link #PE_LAZY}, {@link #PE_PARENT}
     * @param offset byte offset of the first page in the page file (meaningful when present)
     * @param pagesId names the page file, {@code pages-<pagesId>.img}
     */
    public record Entry(long vaddr, long pages, int flags, long offset, long pagesId) {
        /** @return the address just past the entry */
        public long end() {
            return vaddr + pages * PAGE_SIZE;
        }

        /** @return whether the pages are in the page file */
        public boolean present() {
            return (flags & PE_PRESENT) != 0;
        }

        /** @return whether the pages are in the page file and a lazy restore leaves them to the daemon */
        public boolean lazy() {
            return present() && (flags & PE_LAZY) != 0;
        }

        /** @return the length in bytes */
        public long bytes() {
            return pages * PAGE_SIZE;
        }
    }

    /**
     * Bytes {@code [offset, offset + length)} of {@code pages-<pagesId>.img}.
     *
     * @param pagesId names the page file
     * @param offset where the range starts
     * @param length how many bytes
     */
    public record ByteRange(long pagesId, long offset, long length) {
        /** @return the name of the page file the range is in */
        public String pagesFile() {
            return pagesFileName(pagesId);
        }
    }

    /** @return the name of the page file {@code pagesId} names: {@code pages-<pagesId>.img} */
    public static String pagesFileName(long pagesId) {
        return "pages-" + pagesId + ".img";
    }

    /** @return whether {@code fileName} is the name of a page file of an image */
    public static boolean isPagesFile(String fileName) {
        return fileName.startsWith("pages-") && fileName.endsWith(".img");
    }

    /** A task's part of the image. {@code vmaStarts}/{@code vmaEnds} are sorted and disjoint. */
    record TaskImage(int pid, long pagesId, List<Entry> entries, long[] entryStarts, long[] vmaStarts, long[] vmaEnds) {
        Optional<Entry> entryAt(long address) {
            int i = Arrays.binarySearch(entryStarts, address);
            int at = i >= 0 ? i : -i - 2;
            if (at < 0 || address >= entries.get(at).end()) {
                return Optional.empty();
            }
            return Optional.of(entries.get(at));
        }
    }

    private ImageIndex(Path directory, Map<Integer, TaskImage> tasks) {
        this.directory = directory;
        this.tasks = tasks;
    }

    /**
     * Reads an image directory.
     *
     * @param imagesDir what {@code criu dump -D} wrote
     * @return the index
     * @throws LazyPagesException when a file is missing or malformed, or the image is incremental
     */
    public static ImageIndex load(Path imagesDir) {
        try {
            Map<Integer, TaskImage> tasks = new LinkedHashMap<>();
            for (int pid : pids(imagesDir)) {
                loadTask(imagesDir, pid).ifPresent(t -> tasks.put(pid, t));
            }
            if (tasks.isEmpty()) {
                throw new LazyPagesException(imagesDir + " has no task with a pagemap");
            }
            return new ImageIndex(imagesDir, Collections.unmodifiableMap(tasks));
        } catch (NoSuchFileException e) {
            throw new LazyPagesException("incomplete CRIU image in " + imagesDir + ": no " + e.getFile(), e);
        } catch (IOException e) {
            throw new LazyPagesException("cannot read CRIU image in " + imagesDir + ": " + e, e);
        }
    }

    /** @return the image directory this index was read from */
    public Path directory() {
        return directory;
    }

    /** @return the pids (in the image) of the tasks that have memory, in pstree order */
    public List<Integer> pids() {
        return List.copyOf(tasks.keySet());
    }

    /** @return the {@code pages_id} of the task's page file */
    public long pagesId(int pid) {
        return task(pid).pagesId();
    }

    /** @return the task's pagemap entries, sorted by address */
    public List<Entry> entries(int pid) {
        return task(pid).entries();
    }

    /**
     * @param pid a task's pid in the image
     * @param address any address in a page
     * @return the byte offset of that page in {@code pages-<pagesId(pid)>.img}, or empty when the
     *     image has no bytes for it (never touched, or a zero page)
     */
    public OptionalLong lookup(int pid, long address) {
        long page = address & Userfaultfd.PAGE_MASK;
        return task(pid).entryAt(page).filter(Entry::present)
                .map(e -> OptionalLong.of(e.offset() + (page - e.vaddr())))
                .orElse(OptionalLong.empty());
    }

    /**
     * @return the byte ranges of the page files a {@code --lazy-pages} restore reads itself (PRESENT
     *     entries without LAZY), adjacent ones merged, in file order: all the node needs locally
     */
    public List<ByteRange> nonLazyRanges() {
        List<ByteRange> out = new ArrayList<>();
        for (TaskImage t : tasks.values()) {
            for (Entry e : t.entries()) {
                if (e.present() && !e.lazy()) {
                    append(out, new ByteRange(e.pagesId(), e.offset(), e.bytes()));
                }
            }
        }
        return List.copyOf(out);
    }

    /** @return bytes the daemon serves (PRESENT and LAZY) */
    public long lazyBytes() {
        return sumBytes(true);
    }

    /** @return bytes of all page files together */
    public long totalPresentBytes() {
        return sumBytes(false);
    }

    /**
     * Where a working set's pages are in the page files, in working-set order, so they can be fetched
     * in bulk: concatenated, the ranges' bytes are what {@link LazyPages.Prefetch} expects.
     *
     * @throws LazyPagesException when a page of the working set is not in this image
     */
    public List<ByteRange> ranges(WorkingSet workingSet) {
        List<ByteRange> out = new ArrayList<>();
        for (WorkingSet.Run run : workingSet.runs()) {
            TaskImage t = task(run.pid());
            long address = run.vaddr();
            while (address < run.end()) {
                long at = address;
                Entry e = t.entryAt(at).filter(Entry::present).orElseThrow(() -> new LazyPagesException(
                        "working set page 0x" + Long.toHexString(at) + " of pid " + run.pid() + " is not in the image in " + directory));
                long end = Math.min(run.end(), e.end());
                append(out, new ByteRange(e.pagesId(), e.offset() + (address - e.vaddr()), end - address));
                address = end;
            }
        }
        return List.copyOf(out);
    }

    /**
     * Fetches a working set's bytes in working-set order: the {@code bytes} of a {@link LazyPages.Prefetch}.
     *
     * @param workingSet a working set recorded on this image
     * @param source where the page files are
     * @param arena where to allocate the result; it must stay open until the server is closed
     * @return {@code workingSet.bytes()} bytes, page-aligned
     */
    public MemorySegment read(WorkingSet workingSet, PageSource source, Arena arena) {
        MemorySegment out = LazyPages.populate(LazyPages.pageMemory(workingSet.bytes(), arena));
        long position = 0;
        for (ByteRange r : ranges(workingSet)) {
            source.read(r.pagesId(), r.offset(), out.asSlice(position, r.length()));
            position += r.length();
        }
        return out.asSlice(0, workingSet.bytes());
    }

    /** @return the task's VMAs as {@code [starts, ends]} */
    long[][] vmas(int pid) {
        TaskImage t = task(pid);
        return new long[][] {t.vmaStarts(), t.vmaEnds()};
    }

    boolean hasTask(int pid) {
        return tasks.containsKey(pid);
    }

    private TaskImage task(int pid) {
        TaskImage t = tasks.get(pid);
        if (t == null) {
            throw new LazyPagesException("the image in " + directory + " has no pagemap for pid " + pid);
        }
        return t;
    }

    private long sumBytes(boolean lazyOnly) {
        return tasks.values().stream().flatMap(t -> t.entries().stream())
                .filter(e -> lazyOnly ? e.lazy() : e.present()).mapToLong(Entry::bytes).sum();
    }

    private static void append(List<ByteRange> out, ByteRange r) {
        if (!out.isEmpty()) {
            ByteRange last = out.getLast();
            if (last.pagesId() == r.pagesId() && last.offset() + last.length() == r.offset()) {
                out.set(out.size() - 1, new ByteRange(last.pagesId(), last.offset(), last.length() + r.length()));
                return;
            }
        }
        out.add(r);
    }

    /** @return the pids of the image's processes, from its pstree */
    static List<Integer> pids(Path dir) throws IOException {
        List<Integer> pids = new ArrayList<>();
        for (ImageFile.Message m : ImageFile.records(dir.resolve("pstree.img"), ImageFile.PSTREE_MAGIC)) {
            while (m.next()) {
                if (m.field() == 1) {
                    pids.add((int) m.value());
                }
            }
        }
        return pids;
    }

    /** @return the task's image, or empty for a task without memory (a zombie) */
    private static Optional<TaskImage> loadTask(Path dir, int pid) throws IOException {
        Path pagemap = dir.resolve("pagemap-" + pid + ".img");
        if (!pagemap.toFile().exists()) {
            return Optional.empty();
        }
        ImageFile.Pagemap read = ImageFile.Pagemap.read(pagemap);
        long pagesId = pagesId(read.head(), pagemap);
        List<Entry> entries = new ArrayList<>();
        long offset = 0;
        for (ImageFile.PagemapEntry p : read.entries()) {
            Entry e = new Entry(p.vaddr(), p.pages(), (int) p.flags(), offset, pagesId);
            entries.add(e);
            if (e.present()) {
                offset += e.bytes();
            }
        }
        long[] starts = entries.stream().mapToLong(Entry::vaddr).toArray();
        long[][] vmas = vmas(dir, pid);
        return Optional.of(new TaskImage(pid, pagesId, List.copyOf(entries), starts, vmas[0], vmas[1]));
    }

    private static long pagesId(ImageFile.Message head, Path file) {
        while (head.next()) {
            if (head.field() == 1) {
                return head.value();
            }
        }
        throw new LazyPagesException(file + " has no pages_id");
    }

    /** @return {@code [starts, ends]} of the task's VMAs; empty when the image has no mm file */
    private static long[][] vmas(Path dir, int pid) throws IOException {
        List<ImageFile.VmaEntry> vmas = new ArrayList<>(ImageFile.vmas(dir, pid));
        vmas.sort((a, b) -> Long.compare(a.start(), b.start()));
        return new long[][] {vmas.stream().mapToLong(ImageFile.VmaEntry::start).toArray(),
                vmas.stream().mapToLong(ImageFile.VmaEntry::end).toArray()};
    }

    @Override
    public String toString() {
        return "ImageIndex[" + directory + ", pids " + tasks.keySet() + ", " + lazyBytes() / (1 << 20) + " MB lazy of "
                + totalPresentBytes() / (1 << 20) + " MB]";
    }
}
