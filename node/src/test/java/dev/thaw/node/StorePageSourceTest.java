package dev.thaw.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.store.FetchTally;
import dev.thaw.store.SnapshotStore;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store-backed page source: pages by offset, and the decrypted chunks it keeps until closed. */
class StorePageSourceTest {
    private static final int CHUNK = 64 * 1024;
    private static final int PAGE = 4096;

    @TempDir
    Path tmp;

    @Test
    void servesPagesByOffsetAndCountsTheDecryptedChunksItKeepsUntilClosed() throws Exception {
        byte[] pages = randomBytes(4 * CHUNK, 7);
        ExecutorService readAhead = Executors.newFixedThreadPool(2);
        try (SnapshotStore store = storeHolding(pages); Arena arena = Arena.ofConfined()) {
            StorePageSource source = new StorePageSource(store, "snap", new FetchTally(), 0, readAhead);
            assertThat(source.cachedBytes()).isZero();

            MemorySegment page = arena.allocate(PAGE);
            source.read(1, CHUNK + 3 * PAGE, page);
            assertThat(page.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(slice(pages, CHUNK + 3 * PAGE, PAGE));
            assertThat(source.cachedBytes()).as("the whole chunk around the page").isEqualTo(CHUNK);

            MemorySegment across = arena.allocate(2 * PAGE);
            source.read(1, 3L * CHUNK - PAGE, across); // the end of chunk 2, the start of chunk 3
            assertThat(across.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(slice(pages, 3 * CHUNK - PAGE, 2 * PAGE));
            assertThat(source.cachedBytes()).isEqualTo(3L * CHUNK);

            source.close();
            assertThat(source.cachedBytes()).as("dropped on close").isZero();
            source.read(1, 0, page);
            assertThat(page.toArray(ValueLayout.JAVA_BYTE)).as("a read after close fetches again")
                    .isEqualTo(slice(pages, 0, PAGE));
        } finally {
            readAhead.shutdownNow();
        }
    }

    /** A stream reads ahead; a fault, which lands anywhere, fetches only its own chunk. */
    @Test
    void onlyReadsInOrderFetchAhead() throws Exception {
        byte[] pages = randomBytes(16 * CHUNK, 11);
        ExecutorService readAhead = Executors.newFixedThreadPool(2);
        try (SnapshotStore store = storeHolding(pages); Arena arena = Arena.ofConfined()) {
            FetchTally tally = new FetchTally();
            StorePageSource source = new StorePageSource(store, "snap", tally, 4L * CHUNK, readAhead);
            MemorySegment page = arena.allocate(PAGE);

            source.read(1, 8L * CHUNK, page); // a fault in the middle of the file
            source.read(1, 2L * CHUNK + PAGE, page);
            assertThat(page.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(slice(pages, 2 * CHUNK + PAGE, PAGE));
            Thread.sleep(200); // read-ahead, if any were started, would land meanwhile
            assertThat(source.cachedBytes()).as("two faults, two chunks").isEqualTo(2L * CHUNK);

            source.readInOrder(1, 0, page);
            assertThat(page.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(slice(pages, 0, PAGE));
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (source.cachedBytes() < 6L * CHUNK && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(source.cachedBytes()).as("chunk 0, the 4 after it (chunk 2 already there), and the two faulted")
                    .isEqualTo(6L * CHUNK);
        } finally {
            readAhead.shutdownNow();
        }
    }

    private static byte[] randomBytes(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    /** @return a store in which snapshot "snap" is an image of {@code pages-1.img} holding {@code pages} */
    private SnapshotStore storeHolding(byte[] pages) throws java.io.IOException {
        Path image = Files.createDirectories(tmp.resolve("image"));
        Files.write(image.resolve("pages-1.img"), pages);
        Files.write(image.resolve("inventory.img"), new byte[] {1, 2, 3});
        SnapshotStore store = SnapshotStore.builder().root(tmp.resolve("store")).secret(new byte[32]).chunkSize(CHUNK).build();
        store.put("snap", image);
        return store;
    }

    private static byte[] slice(byte[] bytes, int from, int length) {
        return java.util.Arrays.copyOfRange(bytes, from, from + length);
    }
}
