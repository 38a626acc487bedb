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
        byte[] pages = new byte[4 * CHUNK];
        new Random(7).nextBytes(pages);
        Path image = Files.createDirectories(tmp.resolve("image"));
        Files.write(image.resolve("pages-1.img"), pages);
        Files.write(image.resolve("inventory.img"), new byte[] {1, 2, 3});
        ExecutorService readAhead = Executors.newFixedThreadPool(2);
        try (SnapshotStore store = SnapshotStore.builder().root(tmp.resolve("store")).secret(new byte[32])
                .chunkSize(CHUNK).build(); Arena arena = Arena.ofConfined()) {
            store.put("snap", image);
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

    private static byte[] slice(byte[] bytes, int from, int length) {
        return java.util.Arrays.copyOfRange(bytes, from, from + length);
    }
}
