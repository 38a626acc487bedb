package dev.thaw.lazy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The memory a prefetched working set is written into: mapped, zero, page-aligned, unmapped with its arena. */
class PageMemoryTest {

    @Test
    void isPageAlignedZeroWritableAndExactlyAsLargeAsAsked() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = LazyPages.pageMemory(3 * ImageIndex.PAGE_SIZE + 100, arena);

            assertThat(m.byteSize()).isEqualTo(3 * ImageIndex.PAGE_SIZE + 100);
            assertThat(m.address() % ImageIndex.PAGE_SIZE).isZero();
            for (long at = 0; at < m.byteSize(); at += 512) {
                assertThat(m.get(ValueLayout.JAVA_BYTE, at)).as("byte %d", at).isZero();
            }
            m.set(ValueLayout.JAVA_LONG_UNALIGNED, m.byteSize() - 8, 0x1122334455667788L);
            assertThat(m.get(ValueLayout.JAVA_LONG_UNALIGNED, m.byteSize() - 8)).isEqualTo(0x1122334455667788L);
            assertThatThrownBy(() -> m.get(ValueLayout.JAVA_BYTE, m.byteSize()))
                    .isInstanceOf(IndexOutOfBoundsException.class);
        }
    }

    @Test
    void isUnmappedWhenItsArenaCloses() throws IOException {
        MemorySegment m;
        try (Arena arena = Arena.ofShared()) {
            m = LazyPages.pageMemory(64 * ImageIndex.PAGE_SIZE, arena);
            m.fill((byte) 7);
            assertThat(isMapped(m.address())).as("mapped while the arena is open").isTrue();
        }
        assertThat(isMapped(m.address())).as("unmapped once it closed").isFalse();
        assertThatThrownBy(() -> m.get(ValueLayout.JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
    }

    /**
     * Mapped without being faulted in (the restore's thread does not pay for it), then faulted in by
     * the kernel in one call on the thread that will write it (MADV_POPULATE_WRITE, Linux 5.14+, which
     * CRIU 4.2's kernels have), a slice's pages only when a slice is populated.
     */
    @Test
    void isResidentOnlyOncePopulated() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = LazyPages.pageMemory(8L << 20, arena);
            assertThat(residentKiB(m.address())).as("resident KiB of the 8 MiB mapping as mapped").isZero();

            LazyPages.populate(m.asSlice(0, 100));
            assertThat(residentKiB(m.address())).as("resident KiB after populating 100 bytes")
                    .isBetween(4L, 2L << 10); // one page, or one huge page where THP backs it

            assertThat(LazyPages.populate(m)).isSameAs(m);
            assertThat(residentKiB(m.address())).as("resident KiB once populated").isGreaterThanOrEqualTo(8L << 10);
            assertThat(m.get(ValueLayout.JAVA_LONG, (8L << 20) - 8)).isZero();
        }
    }

    @Test
    void anEmptyWorkingSetStillGetsAValidSegment() {
        try (Arena arena = Arena.ofConfined()) {
            assertThat(LazyPages.pageMemory(0, arena).byteSize()).isZero();
        }
    }

    /** @return the {@code Rss} of the mapping of this process that starts at {@code address}, in KiB */
    private static long residentKiB(long address) throws IOException {
        java.util.List<String> smaps = Files.readAllLines(Path.of("/proc/self/smaps"));
        for (int i = 0; i < smaps.size(); i++) {
            String line = smaps.get(i);
            if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*") && Long.parseUnsignedLong(line.substring(0, line.indexOf('-')), 16) == address) {
                for (int j = i + 1; j < smaps.size(); j++) {
                    if (smaps.get(j).startsWith("Rss:")) {
                        return Long.parseLong(smaps.get(j).replaceAll("[^0-9]", ""));
                    }
                }
            }
        }
        throw new AssertionError("no mapping starts at 0x" + Long.toHexString(address));
    }

    /** Whether some mapping of this process covers {@code address}. */
    private static boolean isMapped(long address) throws IOException {
        return Files.readAllLines(Path.of("/proc/self/maps")).stream()
                .map(l -> l.substring(0, l.indexOf(' ')).split("-"))
                .anyMatch(b -> Long.parseUnsignedLong(b[0], 16) <= address && address < Long.parseUnsignedLong(b[1], 16));
    }
}
