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
}
