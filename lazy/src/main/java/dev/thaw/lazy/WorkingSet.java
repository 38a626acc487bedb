package dev.thaw.lazy;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The pages a restored instance needed, in the order it first touched them: what REAP calls the
 * working set. Recorded by a lazy-pages server ({@link LazyPagesServer#recorded()}) during a first
 * restore, stored next to the snapshot ({@link #encode()}), and installed up front by later
 * restores of the same image ({@link LazyPages.Prefetch}).
 *
 * <p>Addresses are those of the image (before any mremap the instance did), so a working set
 * belongs to one image.
 *
 * @param runs runs of adjacent pages, in first-touch order
 */
public record WorkingSet(List<Run> runs) {
    private static final int MAGIC = 0x54575331; // "TWS1"
    private static final int RUN_BYTES = 4 + 8 + 4;

    /** @param runs runs of adjacent pages, in first-touch order */
    public WorkingSet {
        runs = List.copyOf(runs);
    }

    /**
     * Pages {@code [vaddr, vaddr + pages * 4096)} of one task.
     *
     * @param pid the task's pid in the image
     * @param vaddr page-aligned address of the first page, as in the image
     * @param pages how many pages, at least 1
     */
    public record Run(int pid, long vaddr, int pages) {
        /** Checks the run. */
        public Run {
            if (pages < 1) {
                throw new IllegalArgumentException("a run needs at least one page, got " + pages);
            }
            if ((vaddr & (Userfaultfd.PAGE_SIZE - 1)) != 0) {
                throw new IllegalArgumentException("run address 0x" + Long.toHexString(vaddr) + " is not page-aligned");
            }
        }

        /** @return the address just past the run */
        public long end() {
            return vaddr + (long) pages * Userfaultfd.PAGE_SIZE;
        }
    }

    /** @return a working set without pages */
    public static WorkingSet empty() {
        return new WorkingSet(List.of());
    }

    /** @return how many pages the runs hold */
    public long pages() {
        return runs.stream().mapToLong(Run::pages).sum();
    }

    /** @return how many bytes the runs' pages hold */
    public long bytes() {
        return pages() * Userfaultfd.PAGE_SIZE;
    }

    /**
     * The same pages in address order, adjacent pages of a task merged into one run: the layout a
     * working set is stored and installed in. Installing happens before the tasks resume, so the
     * order of first touch buys nothing there, while address order turns a JVM's ~12,000 one-page
     * runs into ~4,000 longer ones (measured on the Spring Boot example): a third of the copies
     * into the tasks, each from one contiguous stretch of the fetched bytes.
     *
     * @return the working set in address order, pages touched twice counted once
     */
    public WorkingSet inAddressOrder() {
        List<Run> sorted = new ArrayList<>(runs);
        sorted.sort(java.util.Comparator.comparingInt(Run::pid).thenComparingLong(Run::vaddr));
        List<Run> merged = new ArrayList<>(sorted.size());
        for (Run r : sorted) {
            Run last = merged.isEmpty() ? null : merged.getLast();
            if (last != null && last.pid() == r.pid() && r.vaddr() <= last.end()) {
                long end = Math.max(last.end(), r.end());
                merged.set(merged.size() - 1, new Run(r.pid(), last.vaddr(),
                        Math.toIntExact((end - last.vaddr()) / Userfaultfd.PAGE_SIZE)));
            } else {
                merged.add(r);
            }
        }
        return new WorkingSet(merged);
    }

    /** @return a compact binary form, read back by {@link #decode(byte[])} */
    public byte[] encode() {
        ByteBuffer out = ByteBuffer.allocate(8 + runs.size() * RUN_BYTES);
        out.putInt(MAGIC).putInt(runs.size());
        for (Run r : runs) {
            out.putInt(r.pid()).putLong(r.vaddr()).putInt(r.pages());
        }
        return out.array();
    }

    /**
     * @param bytes what {@link #encode()} produced
     * @return the working set
     * @throws LazyPagesException when the bytes are not an encoded working set
     */
    public static WorkingSet decode(byte[] bytes) {
        ByteBuffer in = ByteBuffer.wrap(bytes);
        try {
            int magic = in.getInt();
            if (magic != MAGIC) {
                throw new LazyPagesException("not an encoded working set (magic 0x" + Integer.toHexString(magic) + ")");
            }
            int count = in.getInt();
            if (count < 0 || (long) count * RUN_BYTES != in.remaining()) {
                throw new LazyPagesException("encoded working set says " + count + " runs but holds " + in.remaining() + " bytes");
            }
            List<Run> runs = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                runs.add(new Run(in.getInt(), in.getLong(), in.getInt()));
            }
            return new WorkingSet(runs);
        } catch (BufferUnderflowException | IllegalArgumentException e) {
            throw new LazyPagesException("corrupt encoded working set: " + e.getMessage(), e);
        }
    }
}
