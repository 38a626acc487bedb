package dev.thaw.lazy;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A prefetched working set whose bytes arrived: where each of its pages is in the byte segment (by
 * pid and image address, so pages moved by mremap are still found), and a cursor that hands out the
 * runs in working-set order, in pieces of bounded size, for installing between faults.
 */
final class Prefetched {
    private static final int PAGE = Userfaultfd.PAGE_SIZE;

    final MemorySegment bytes;
    private final List<WorkingSet.Run> runs;
    private final long[] runOffsets;
    /** pid → image start of a run → {run end, offset of the run in {@link #bytes}}. */
    private final Map<Integer, TreeMap<Long, long[]>> byAddress = new HashMap<>();
    private int nextRun;
    private long nextAddress;

    Prefetched(WorkingSet workingSet, MemorySegment bytes) {
        this.bytes = bytes;
        this.runs = workingSet.runs();
        this.runOffsets = new long[runs.size()];
        long offset = 0;
        for (int i = 0; i < runs.size(); i++) {
            WorkingSet.Run r = runs.get(i);
            runOffsets[i] = offset;
            byAddress.computeIfAbsent(r.pid(), pid -> new TreeMap<>()).put(r.vaddr(), new long[] {r.end(), offset});
            offset += (long) r.pages() * PAGE;
        }
        this.nextAddress = runs.isEmpty() ? 0 : runs.getFirst().vaddr();
    }

    /** @return the offset in {@link #bytes} of the page at {@code imageAddress} of {@code pid}, or -1 */
    long offsetOf(int pid, long imageAddress) {
        long[] run = runAt(pid, imageAddress);
        return run == null ? -1 : run[2];
    }

    /** @return how many prefetched pages follow contiguously from {@code imageAddress} (0 if none) */
    int pagesFrom(int pid, long imageAddress) {
        long[] run = runAt(pid, imageAddress);
        return run == null ? 0 : (int) ((run[0] - imageAddress) / PAGE);
    }

    /** @return {end, start offset of run, offset of the address}, or null */
    private long[] runAt(int pid, long imageAddress) {
        TreeMap<Long, long[]> runsOfPid = byAddress.get(pid);
        Map.Entry<Long, long[]> e = runsOfPid == null ? null : runsOfPid.floorEntry(imageAddress);
        if (e == null || imageAddress >= e.getValue()[0]) {
            return null;
        }
        return new long[] {e.getValue()[0], e.getValue()[1], e.getValue()[1] + (imageAddress - e.getKey())};
    }

    /** @return whether every piece has been handed out */
    boolean done() {
        return nextRun >= runs.size();
    }

    /** @return whether the next piece's first page lies within the first {@code availableBytes} bytes */
    boolean nextAvailable(long availableBytes) {
        return !done() && nextOffset() + PAGE <= availableBytes;
    }

    /**
     * @param availableBytes how many bytes at the start of {@link #bytes} have arrived
     * @return the next piece of at most {@code maxPages} pages to install, in working-set order, all
     *     of whose bytes have arrived; null when done or when the next page's bytes have not arrived
     */
    Piece next(int maxPages, long availableBytes) {
        if (!nextAvailable(availableBytes)) {
            return null;
        }
        WorkingSet.Run run = runs.get(nextRun);
        long offset = nextOffset();
        long arrivedPages = (availableBytes - offset) / PAGE;
        int pages = (int) Math.min(Math.min(maxPages, (run.end() - nextAddress) / PAGE), arrivedPages);
        Piece piece = new Piece(run.pid(), nextAddress, pages, offset);
        nextAddress += (long) pages * PAGE;
        if (nextAddress >= run.end() && ++nextRun < runs.size()) {
            nextAddress = runs.get(nextRun).vaddr();
        }
        return piece;
    }

    private long nextOffset() {
        return runOffsets[nextRun] + (nextAddress - runs.get(nextRun).vaddr());
    }

    /** Pages {@code [imageAddress, +pages)} of {@code pid}, at {@code offset} of the bytes. */
    record Piece(int pid, long imageAddress, int pages, long offset) {
    }
}
