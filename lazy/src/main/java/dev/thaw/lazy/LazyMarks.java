package dev.thaw.lazy;

import static dev.thaw.lazy.ImageFile.VmaEntry.MAP_ANONYMOUS;
import static dev.thaw.lazy.ImageFile.VmaEntry.MAP_LOCKED;
import static dev.thaw.lazy.ImageFile.VmaEntry.MAP_PRIVATE;
import static dev.thaw.lazy.ImageFile.VmaEntry.VMA_AREA_VDSO;
import static dev.thaw.lazy.ImageFile.VmaEntry.VMA_AREA_VSYSCALL;
import static dev.thaw.lazy.ImageFile.VmaEntry.VMA_AREA_VVAR;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;


/**
 * Puts back the lazy marks CRIU 4.2 leaves out of a dump when a thread's stack pointer is
 * page-aligned.
 *
 * <p>CRIU marks the dumped pages of anonymous private memory {@code PE_LAZY}, meaning to leave out
 * the page each thread's stack pointer is on. Its test for that page masks with {@code ~PAGE_MASK}
 * instead of {@code PAGE_MASK}: it compares offsets within a page, not pages. So it never holds for a
 * page-aligned address (every stack page is marked lazy too, and restores are fine with that), until
 * one thread's saved stack pointer is itself page-aligned: then it holds for every page, and no page
 * of the task is lazy. A lazy or REAP restore of that image restores everything up front, records no
 * working set, and nothing says why. Seen here: a JVM's launcher thread, parked in
 * {@code pthread_join} for the life of the process, had its stack pointer at {@code 0x...db000}. Where
 * that thread's stack ends moves in 16-byte steps with every exec (ASLR), so about one boot in 256 is
 * hit, and then every dump of that instance.
 *
 * <p>{@link #repair} finds tasks whose pagemap has no lazy entry although they have pages CRIU marks
 * lazy, and marks those pages as CRIU does when the bug does not strike: every dumped page of a
 * mapping that is anonymous, private, not locked and neither vDSO nor vsyscall (nor vvar, to be
 * safe), stack pages included. Entries are split where that changes within one. The pages files stay
 * as they are: lazy pages dumped into the image are both {@code PE_PRESENT} and {@code PE_LAZY}, so
 * the order and offsets of the present pages do not change.
 */
public final class LazyMarks {
    private static final System.Logger LOG = System.getLogger(LazyMarks.class.getName());
    private static final int PAGE = ImageIndex.PAGE_SIZE;

    private LazyMarks() {
    }

    /**
     * What {@link #repair} did.
     *
     * @param tasks how many tasks' pagemaps were rewritten
     * @param pages how many pages were marked lazy
     */
    public record Repair(int tasks, long pages) {
    }

    /**
     * Marks the pages CRIU should have marked lazy in the image in {@code imagesDir}; rewrites the
     * pagemap files that need it (each replaced atomically), touches nothing else.
     *
     * @return how many tasks and pages were repaired (none for a correct image)
     * @throws LazyPagesException when an image file cannot be read or written
     */
    public static Repair repair(Path imagesDir) {
        int tasks = 0;
        long pages = 0;
        try {
            for (int pid : ImageIndex.pids(imagesDir)) {
                long marked = repairTask(imagesDir, pid);
                if (marked > 0) {
                    tasks++;
                    pages += marked;
                }
            }
        } catch (IOException e) {
            throw new LazyPagesException("cannot repair the lazy marks of the image in " + imagesDir + ": " + e.getMessage(), e);
        }
        return new Repair(tasks, pages);
    }

    /** What CRIU's vma_entry_can_be_lazy() says, and not vvar either. */
    private static boolean canBeLazy(ImageFile.VmaEntry v) {
        return (v.flags() & MAP_ANONYMOUS) != 0 && (v.flags() & MAP_PRIVATE) != 0 && (v.flags() & MAP_LOCKED) == 0
                && (v.status() & (VMA_AREA_VSYSCALL | VMA_AREA_VDSO | VMA_AREA_VVAR)) == 0;
    }

    /** @return how many pages of the task were marked lazy (0 when its marks were right) */
    private static long repairTask(Path dir, int pid) throws IOException {
        Path pagemap = dir.resolve("pagemap-" + pid + ".img");
        if (!Files.exists(pagemap)) {
            return 0; // a zombie
        }
        ImageFile.Pagemap read = ImageFile.Pagemap.read(pagemap);
        List<ImageFile.PagemapEntry> entries = read.entries();
        if (entries.stream().anyMatch(e -> (e.flags() & ImageIndex.PE_LAZY) != 0)) {
            return 0; // CRIU marked this task: nothing to repair
        }
        read.requireKnownFields("its lazy marks are not repaired");
        List<ImageFile.VmaEntry> vmas = ImageFile.vmas(dir, pid);
        List<ImageFile.PagemapEntry> repaired = new ArrayList<>();
        long marked = 0;
        for (ImageFile.PagemapEntry e : entries) {
            for (ImageFile.PagemapEntry part : split(e, vmas)) {
                repaired.add(part);
                if ((part.flags() & ImageIndex.PE_LAZY) != 0) {
                    marked += part.pages();
                }
            }
        }
        if (marked == 0) {
            return 0;
        }
        write(pagemap, read.head(), repaired);
        LOG.log(System.Logger.Level.INFO, dir + ": CRIU marked no page of pid " + pid + " lazy (a thread's stack pointer is"
                + " page-aligned); marked the " + marked + " pages it marks otherwise");
        return marked;
    }

    /** Splits a present, non-lazy entry into runs of pages that can and cannot be lazy. */
    private static List<ImageFile.PagemapEntry> split(ImageFile.PagemapEntry e, List<ImageFile.VmaEntry> vmas) {
        if ((e.flags() & ImageIndex.PE_PRESENT) == 0 || e.pages() == 0) {
            return List.of(e);
        }
        List<ImageFile.PagemapEntry> parts = new ArrayList<>();
        long runStart = e.vaddr();
        boolean runLazy = canBeLazy(e.vaddr(), vmas);
        long end = e.vaddr() + e.pages() * PAGE;
        for (long page = e.vaddr() + PAGE; page <= end; page += PAGE) {
            boolean lazy = page < end && canBeLazy(page, vmas);
            if (page == end || lazy != runLazy) {
                long flags = runLazy ? e.flags() | ImageIndex.PE_LAZY : e.flags();
                parts.add(new ImageFile.PagemapEntry(runStart, (page - runStart) / PAGE, flags, e.wideCount()));
                runStart = page;
                runLazy = lazy;
            }
        }
        return parts;
    }

    private static boolean canBeLazy(long page, List<ImageFile.VmaEntry> vmas) {
        for (ImageFile.VmaEntry v : vmas) {
            if (page >= v.start() && page < v.end()) {
                return canBeLazy(v);
            }
        }
        return false;
    }

    /** Replaces {@code pagemap} atomically by one with the same head record and {@code entries}. */
    static void write(Path pagemap, ImageFile.Message head, List<ImageFile.PagemapEntry> entries) throws IOException {
        List<byte[]> records = new ArrayList<>();
        records.add(head.rawBytes());
        entries.forEach(e -> records.add(e.encode()));
        ImageFile.write(pagemap, ImageFile.PAGEMAP_MAGIC, records);
    }
}
