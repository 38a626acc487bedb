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

    @Test
    void anEmptyWorkingSetStillGetsAValidSegment() {
        try (Arena arena = Arena.ofConfined()) {
            assertThat(LazyPages.pageMemory(0, arena).byteSize()).isZero();
        }
    }

    /** Whether some mapping of this process covers {@code address}. */
    private static boolean isMapped(long address) throws IOException {
        return Files.readAllLines(Path.of("/proc/self/maps")).stream()
                .map(l -> l.substring(0, l.indexOf(' ')).split("-"))
                .anyMatch(b -> Long.parseUnsignedLong(b[0], 16) <= address && address < Long.parseUnsignedLong(b[1], 16));
    }
}
