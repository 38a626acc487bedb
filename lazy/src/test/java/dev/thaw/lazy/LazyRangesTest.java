package dev.thaw.lazy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.BitSet;
import org.junit.jupiter.api.Test;

class LazyRangesTest {
    private static final long P = 4096;

    /** Ten pages at 0x10000 whose bytes start at offset 0x5000 of pages-3.img. */
    private static LazyRanges tenPages() {
        LazyRanges ranges = new LazyRanges();
        ranges.putForTest(new LazyRanges.Range(0x10000, 0x10000 + 10 * P, 0x10000, 0x5000, 3, new BitSet()));
        return ranges;
    }

    @Test
    void findsAndMarksPages() {
        LazyRanges ranges = tenPages();
        LazyRanges.Range r = ranges.find(0x10000 + 3 * P);
        assertThat(r).isNotNull();
        assertThat(ranges.find(0x10000 - P)).isNull();
        assertThat(ranges.find(0x10000 + 10 * P)).isNull();
        assertThat(r.fileOffset(0x10000 + 3 * P)).isEqualTo(0x5000 + 3 * P);
        ranges.markDone(r, 0x10000 + 3 * P, 2);
        assertThat(ranges.remaining()).isEqualTo(8);
        assertThat(r.pendingRun(0x10000, 16)).isEqualTo(3);
        assertThat(r.pendingRun(0x10000 + 5 * P, 16)).isEqualTo(5);
        assertThat(r.pendingRun(0x10000 + 5 * P, 2)).isEqualTo(2);
        ranges.markDone(r, 0x10000 + 3 * P, 1);
        assertThat(ranges.remaining()).as("marking twice counts once").isEqualTo(8);
    }

    @Test
    void theHoleAroundAnAddressOutsideEveryRangeEndsAtTheNeighbouringRanges() {
        LazyRanges ranges = tenPages();
        ranges.putForTest(new LazyRanges.Range(0x40000, 0x40000 + 2 * P, 0x40000, 0, 3, new BitSet()));
        long hole = 0x10000 + 12 * P;
        assertThat(ranges.previousEndAtOrBelow(hole)).isEqualTo(0x10000 + 10 * P);
        assertThat(ranges.nextStartAfter(hole)).isEqualTo(0x40000);
        assertThat(ranges.previousEndAtOrBelow(0x10000 + 10 * P)).as("a range ending exactly there").isEqualTo(0x10000 + 10 * P);
        assertThat(ranges.previousEndAtOrBelow(0x8000)).as("nothing below").isEqualTo(Long.MIN_VALUE);
        assertThat(ranges.nextStartAfter(0x50000)).as("nothing above").isEqualTo(Long.MAX_VALUE);
        ranges.markDone(ranges.find(0x40000), 0x40000, 2);
        assertThat(ranges.nextStartAfter(hole)).as("installed ranges still bound holes: their pages are present").isEqualTo(0x40000);
    }

    @Test
    void dropSplitsRanges() {
        LazyRanges ranges = tenPages();
        ranges.markDone(ranges.find(0x10000), 0x10000 + 8 * P, 1);
        ranges.drop(0x10000 + 2 * P, 0x10000 + 4 * P);
        assertThat(ranges.remaining()).isEqualTo(7);
        assertThat(ranges.find(0x10000 + 2 * P)).isNull();
        LazyRanges.Range tail = ranges.find(0x10000 + 4 * P);
        assertThat(tail.fileOffset(0x10000 + 4 * P)).isEqualTo(0x5000 + 4 * P);
        assertThat(tail.isDone(0x10000 + 8 * P)).isTrue();
        ranges.drop(0, 0x10000 + 5 * P);
        assertThat(ranges.find(0x10000)).isNull();
        assertThat(ranges.remaining()).isEqualTo(4);
    }

    @Test
    void remapMovesPagesWithTheirBytes() {
        LazyRanges ranges = tenPages();
        ranges.remap(0x10000 + 6 * P, 0x90000, 4 * P);
        assertThat(ranges.find(0x10000 + 6 * P)).isNull();
        LazyRanges.Range moved = ranges.find(0x90000 + P);
        assertThat(moved.imageAddress(0x90000 + P)).isEqualTo(0x10000 + 7 * P);
        assertThat(moved.fileOffset(0x90000 + P)).isEqualTo(0x5000 + 7 * P);
        assertThat(ranges.remaining()).isEqualTo(10);
        assertThat(ranges.size()).isEqualTo(2);
    }

    @Test
    void copyIsIndependent() {
        LazyRanges parent = tenPages();
        LazyRanges child = parent.copy();
        parent.markDone(parent.find(0x10000), 0x10000, 10);
        assertThat(parent.remaining()).isZero();
        assertThat(child.remaining()).isEqualTo(10);
        assertThat(child.firstPending().firstPending()).isEqualTo(0x10000);
        assertThat(parent.firstPending()).isNull();
    }

    @Test
    void fileSpansGoInFileOrderAcrossAdjacentRangesAndStopAtGaps() {
        LazyRanges ranges = new LazyRanges();
        // file order differs from address order: [0x50000, +4 pages) holds offsets 0..4, [0x10000, +4) holds 4..8
        // (as after an mremap), and [0x80000, +2) holds 10..12, after a gap of two non-lazy pages
        ranges.putForTest(new LazyRanges.Range(0x50000, 0x50000 + 4 * P, 0x50000, 0, 3, new BitSet()));
        ranges.putForTest(new LazyRanges.Range(0x10000, 0x10000 + 4 * P, 0x10000, 4 * P, 3, new BitSet()));
        ranges.putForTest(new LazyRanges.Range(0x80000, 0x80000 + 2 * P, 0x80000, 10 * P, 3, new BitSet()));

        assertThat(ranges.nextFileSpan(1024)).isEqualTo(new LazyRanges.FileSpan(3, 0, 8));
        assertThat(ranges.nextFileSpan(6)).isEqualTo(new LazyRanges.FileSpan(3, 0, 6));
        assertThat(ranges.pendingIn(new LazyRanges.FileSpan(3, 0, 6))).containsExactly(
                new LazyRanges.Pending(0x50000, 4, 0), new LazyRanges.Pending(0x10000, 2, 4 * P));

        // a fault installed page 1 of the first range, and the last page of the second: still one read, two runs
        ranges.markDone(ranges.find(0x50000), 0x50000 + P, 1);
        ranges.markDone(ranges.find(0x10000), 0x10000 + 3 * P, 1);
        LazyRanges.FileSpan span = ranges.nextFileSpan(1024);
        assertThat(span).as("ends after the last page not installed").isEqualTo(new LazyRanges.FileSpan(3, 0, 7));
        assertThat(ranges.pendingIn(span)).containsExactly(new LazyRanges.Pending(0x50000, 1, 0),
                new LazyRanges.Pending(0x50000 + 2 * P, 2, 2 * P), new LazyRanges.Pending(0x10000, 3, 4 * P));

        ranges.markDone(ranges.find(0x50000), 0x50000, 4);
        ranges.markDone(ranges.find(0x10000), 0x10000, 4);
        assertThat(ranges.nextFileSpan(1024)).as("after the gap").isEqualTo(new LazyRanges.FileSpan(3, 10 * P, 2));
        ranges.markDone(ranges.find(0x80000), 0x80000, 2);
        assertThat(ranges.nextFileSpan(1024)).isNull();
    }
}
