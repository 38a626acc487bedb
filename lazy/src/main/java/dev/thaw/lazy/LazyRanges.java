package dev.thaw.lazy;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One task's lazy memory: disjoint address ranges, each within one pagemap entry and one VMA (so a
 * single UFFDIO_COPY may cover any part of it), with a bit per page that says whether the page was
 * installed. Addresses are run-time addresses; each range remembers the image address and page-file
 * offset of its start, so it can move (mremap) without losing where its bytes are.
 *
 * <p>Ranges are split on REMAP, REMOVE and UNMAP, copied on FORK, and never merged: their number is
 * bounded by the pagemap entries plus the events the task causes. Not thread-safe: owned by the
 * daemon's thread.
 */
final class LazyRanges {
    private static final int PAGE = Userfaultfd.PAGE_SIZE;

    private final TreeMap<Long, Range> byStart = new TreeMap<>();
    private long remaining;

    /**
     * Pages {@code [start, end)} whose bytes are at {@code fileOffset} of {@code pages-<pagesId>.img};
     * {@code imageStart} is where {@code start} was in the image.
     */
    static final class Range {
        final long start;
        final long end;
        final long imageStart;
        final long fileOffset;
        final long pagesId;
        final BitSet done;
        int remaining;

        Range(long start, long end, long imageStart, long fileOffset, long pagesId, BitSet done) {
            this.start = start;
            this.end = end;
            this.imageStart = imageStart;
            this.fileOffset = fileOffset;
            this.pagesId = pagesId;
            this.done = done;
            this.remaining = pages() - done.cardinality();
        }

        int pages() {
            return (int) ((end - start) / PAGE);
        }

        int index(long address) {
            return (int) ((address - start) / PAGE);
        }

        boolean isDone(long address) {
            return done.get(index(address));
        }

        long imageAddress(long address) {
            return imageStart + (address - start);
        }

        long fileOffset(long address) {
            return fileOffset + (address - start);
        }

        /** @return the page-file offset just past this range's bytes */
        long fileEnd() {
            return fileOffset + (end - start);
        }

        /** @return the run-time address of the byte at {@code offset} of the page file (within this range) */
        long addressOfFileOffset(long offset) {
            return start + (offset - fileOffset);
        }

        /** @return how many pages from {@code address} on, at most {@code max}, are not installed yet */
        int pendingRun(long address, int max) {
            int from = index(address);
            int until = done.nextSetBit(from);
            int limit = until < 0 ? pages() : until;
            return Math.min(max, limit - from);
        }

        /** @return the first page not installed yet, or -1 */
        long firstPending() {
            int i = done.nextClearBit(0);
            return i < pages() ? start + (long) i * PAGE : -1;
        }

        /** @return the part {@code [from, to)} of this range, moved by {@code shift} */
        Range slice(long from, long to, long shift) {
            BitSet bits = done.get(index(from), index(to));
            return new Range(from + shift, to + shift, imageAddress(from), fileOffset(from), pagesId, bits);
        }
    }

    /** @return ranges for the task's lazy pagemap entries, split at VMA boundaries */
    static LazyRanges of(ImageIndex index, int pid) {
        LazyRanges ranges = new LazyRanges();
        long[][] vmas = index.vmas(pid);
        for (ImageIndex.Entry e : index.entries(pid)) {
            if (e.lazy()) {
                ranges.addSplitAtVmas(e, vmas[0], vmas[1]);
            }
        }
        return ranges;
    }

    private void addSplitAtVmas(ImageIndex.Entry e, long[] vmaStarts, long[] vmaEnds) {
        long start = e.vaddr();
        for (int i = 0; i < vmaStarts.length && start < e.end(); i++) {
            if (vmaEnds[i] <= start || vmaStarts[i] >= e.end()) {
                continue;
            }
            long end = Math.min(e.end(), vmaEnds[i]);
            long from = Math.max(start, vmaStarts[i]);
            put(new Range(from, end, from, e.offset() + (from - e.vaddr()), e.pagesId(), new BitSet()));
            start = end;
        }
        if (start < e.end() && vmaStarts.length == 0) {
            put(new Range(start, e.end(), start, e.offset() + (start - e.vaddr()), e.pagesId(), new BitSet()));
        }
    }

    /** @return the range holding {@code address}, or null when the address is not lazy (any more) */
    Range find(long address) {
        Map.Entry<Long, Range> e = byStart.floorEntry(address);
        return e != null && address < e.getValue().end ? e.getValue() : null;
    }

    /** @return the start of the first range above {@code address}, or {@link Long#MAX_VALUE} if none */
    long nextStartAfter(long address) {
        Long next = byStart.higherKey(address);
        return next == null ? Long.MAX_VALUE : next;
    }

    /** @return the end of the last range that ends at or below {@code address}, or {@link Long#MIN_VALUE} if none */
    long previousEndAtOrBelow(long address) {
        Map.Entry<Long, Range> below = byStart.floorEntry(address);
        while (below != null && below.getValue().end > address) {
            below = byStart.lowerEntry(below.getKey());
        }
        return below == null ? Long.MIN_VALUE : below.getValue().end;
    }

    /** Marks {@code pages} pages from {@code address} on as installed. */
    void markDone(Range r, long address, int pages) {
        int from = r.index(address);
        for (int i = from; i < from + pages; i++) {
            if (!r.done.get(i)) {
                r.done.set(i);
                r.remaining--;
                remaining--;
            }
        }
    }

    /** Forgets {@code [start, end)}: its pages are no longer lazy (unmapped, or dropped with madvise). */
    void drop(long start, long end) {
        for (Range r : overlapping(start, end)) {
            remove(r);
            if (r.start < start) {
                put(r.slice(r.start, start, 0));
            }
            if (end < r.end) {
                put(r.slice(end, r.end, 0));
            }
        }
    }

    /** Moves the lazy pages of {@code [from, from + length)} to {@code to} (mremap). */
    void remap(long from, long to, long length) {
        List<Range> moved = new ArrayList<>();
        long end = from + length;
        for (Range r : overlapping(from, end)) {
            moved.add(r.slice(Math.max(r.start, from), Math.min(r.end, end), to - from));
        }
        drop(from, end);
        drop(to, to + length); // mremap replaces whatever was mapped at the destination
        moved.forEach(this::put);
    }

    /** @return an independent copy, for a forked child that inherits what its parent still lacks */
    LazyRanges copy() {
        LazyRanges c = new LazyRanges();
        for (Range r : byStart.values()) {
            c.put(r.slice(r.start, r.end, 0));
        }
        return c;
    }

    /** @return the first range that still has pages to install, or null */
    Range firstPending() {
        for (Range r : byStart.values()) {
            if (r.remaining > 0) {
                return r;
            }
        }
        return null;
    }

    /** Bytes {@code [offset, offset + pages * PAGE)} of {@code pages-<pagesId>.img}. */
    record FileSpan(long pagesId, long offset, int pages) {
        long end() {
            return offset + (long) pages * PAGE;
        }
    }

    /** Pages {@code [address, address + pages * PAGE)} of one range, none installed yet. */
    record Pending(long address, int pages, long fileOffset) {
    }

    /**
     * The next piece of the page file to stream: it starts at the page not installed yet with the
     * lowest offset (lowest page file first), goes on across ranges that follow each other in the
     * file (done pages in between are read too, so the read stays one sequential piece), for at most
     * {@code maxPages} pages, and ends after its last page not installed yet.
     *
     * @return the span, or null when every page is installed
     */
    FileSpan nextFileSpan(int maxPages) {
        Range first = null;
        long firstOffset = 0;
        for (Range r : byStart.values()) {
            if (r.remaining == 0) {
                continue;
            }
            long offset = r.fileOffset(r.firstPending());
            if (first == null || r.pagesId < first.pagesId || (r.pagesId == first.pagesId && offset < firstOffset)) {
                first = r;
                firstOffset = offset;
            }
        }
        if (first == null) {
            return null;
        }
        long limit = firstOffset + (long) maxPages * PAGE;
        TreeMap<Long, Range> inFileOrder = new TreeMap<>();
        for (Range r : byStart.values()) {
            if (r.pagesId == first.pagesId && r.fileEnd() > firstOffset && r.fileOffset < limit) {
                inFileOrder.put(r.fileOffset, r);
            }
        }
        long covered = firstOffset;
        long end = firstOffset + PAGE;
        for (Range r : inFileOrder.values()) {
            if (r.fileOffset > covered) {
                break; // a gap: pages of the file that are not lazy here (or not any more)
            }
            long to = Math.min(r.fileEnd(), limit);
            int lastPending = r.done.previousClearBit((int) ((to - r.fileOffset) / PAGE) - 1);
            long from = Math.max(r.fileOffset, firstOffset);
            if (lastPending >= 0 && r.fileOffset + (long) lastPending * PAGE >= from) {
                end = Math.max(end, r.fileOffset + (long) (lastPending + 1) * PAGE);
            }
            covered = to;
            if (covered >= limit) {
                break;
            }
        }
        return new FileSpan(first.pagesId, firstOffset, (int) ((end - firstOffset) / PAGE));
    }

    /** @return the runs of pages not installed yet whose bytes lie in {@code span}, in file order */
    List<Pending> pendingIn(FileSpan span) {
        List<Pending> out = new ArrayList<>();
        for (Range r : byStart.values()) {
            if (r.pagesId != span.pagesId() || r.remaining == 0 || r.fileEnd() <= span.offset() || r.fileOffset >= span.end()) {
                continue;
            }
            long address = r.addressOfFileOffset(Math.max(span.offset(), r.fileOffset));
            long end = r.addressOfFileOffset(Math.min(span.end(), r.fileEnd()));
            while (address < end) {
                int next = r.done.nextClearBit(r.index(address));
                long page = r.start + (long) next * PAGE;
                if (page >= end) {
                    break;
                }
                int pages = r.pendingRun(page, (int) ((end - page) / PAGE));
                out.add(new Pending(page, pages, r.fileOffset(page)));
                address = page + (long) pages * PAGE;
            }
        }
        out.sort(java.util.Comparator.comparingLong(Pending::fileOffset));
        return out;
    }

    /** @return pages not installed yet */
    long remaining() {
        return remaining;
    }

    int size() {
        return byStart.size();
    }

    private List<Range> overlapping(long start, long end) {
        List<Range> out = new ArrayList<>();
        Map.Entry<Long, Range> first = byStart.floorEntry(start);
        long from = first != null && first.getValue().end > start ? first.getKey() : start;
        for (Range r : byStart.subMap(from, true, end, false).values()) {
            if (r.end > start) {
                out.add(r);
            }
        }
        return out;
    }

    void putForTest(Range r) {
        put(r);
    }

    private void put(Range r) {
        if (r.end > r.start) {
            byStart.put(r.start, r);
            remaining += r.remaining;
        }
    }

    private void remove(Range r) {
        byStart.remove(r.start);
        remaining -= r.remaining;
    }
}
