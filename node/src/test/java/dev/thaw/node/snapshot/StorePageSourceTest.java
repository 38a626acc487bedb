package dev.thaw.node.snapshot;

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
    /** A concurrent reader's span: 16 pages, mostly across two chunks, so its copies take a while. */
    private static final int READ = 16 * PAGE;
    /** The least plaintext a source keeps: 16 chunks, so that a few dozen chunks' reads evict some. */
    private static final long KEEP_16 = 16L * CHUNK;

    @TempDir
    Path tmp;

    @Test
    void servesPagesByOffsetAndCountsTheDecryptedChunksItKeepsUntilClosed() throws Exception {
        byte[] pages = randomBytes(4 * CHUNK, 7);
        ExecutorService readAhead = Executors.newFixedThreadPool(2);
        try (SnapshotStore store = storeHolding(pages); Arena arena = Arena.ofConfined()) {
            StorePageSource source = new StorePageSource(store, "snap", new FetchTally(), 0, StorePageSource.KEPT_BYTES,
                    readAhead, new ChunkBuffers(0));
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
            StorePageSource source = new StorePageSource(store, "snap", tally, 4L * CHUNK, StorePageSource.KEPT_BYTES, readAhead,
                    new ChunkBuffers(0));
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

    /** A second restore of the image reuses the first one's buffers, and still reads the right bytes. */
    @Test
    void aStreamReusesTheBuffersOfTheStreamBefore() throws Exception {
        byte[] pages = randomBytes(8 * CHUNK, 13);
        ExecutorService readAhead = Executors.newFixedThreadPool(2);
        ChunkBuffers buffers = new ChunkBuffers(64L << 20);
        try (SnapshotStore store = storeHolding(pages); Arena arena = Arena.ofConfined()) {
            MemorySegment dst = arena.allocate(pages.length);
            try (StorePageSource first = new StorePageSource(store, "snap", new FetchTally(), 2L * CHUNK,
                    StorePageSource.KEPT_BYTES, readAhead, buffers)) {
                streamWhole(first, dst);
            }
            assertThat(dst.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(pages);
            long allocated = buffers.allocated();
            assertThat(buffers.pooledBytes()).as("every chunk's buffer back once the source is closed")
                    .isEqualTo(allocated * CHUNK);

            dst.fill((byte) 0);
            try (StorePageSource second = new StorePageSource(store, "snap", new FetchTally(), 2L * CHUNK,
                    StorePageSource.KEPT_BYTES, readAhead, buffers)) {
                streamWhole(second, dst);
            }
            assertThat(dst.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(pages);
            assertThat(buffers.allocated()).as("no new buffer for the second stream").isEqualTo(allocated);
        } finally {
            readAhead.shutdownNow();
        }
    }

    /**
     * Faults from several threads, with read-ahead, over a file four times the chunks a source keeps:
     * chunks are evicted and their buffers reused all the time, and no read may see another chunk's bytes.
     */
    @Test
    void concurrentReadsThroughEvictionsSeeOnlyTheirOwnChunks() throws Exception {
        int chunks = 64; // four times the chunks the source keeps
        byte[] pages = randomBytes(chunks * CHUNK, 17);
        ExecutorService readAhead = Executors.newFixedThreadPool(2);
        ExecutorService readers = Executors.newFixedThreadPool(4);
        ChunkBuffers buffers = new ChunkBuffers(64L << 20);
        try (SnapshotStore store = storeHolding(pages);
                StorePageSource source = new StorePageSource(store, "snap", new FetchTally(), 4L * CHUNK, KEEP_16,
                        readAhead, buffers)) {
            java.util.List<java.util.concurrent.Future<Integer>> results = new java.util.ArrayList<>();
            for (int r = 0; r < 4; r++) {
                long seed = r;
                results.add(readers.submit(() -> readRandomPages(source, pages, seed, 1_500)));
            }
            for (var result : results) {
                assertThat(result.get()).as("reads that saw the wrong bytes").isZero();
            }
        } finally {
            readers.shutdownNow();
            readAhead.shutdownNow();
        }
        assertThat(buffers.allocated()).as("buffers were reused").isLessThan(4L * chunks);
    }

    /**
     * A fault waiting for a chunk that read-ahead is still fetching, while enough other faults
     * evict that chunk from the cache: its buffer must not go back to the pool before the waiting
     * fault has copied out of it. The pool here poisons what it is given, so a buffer given back
     * too early shows as wrong bytes.
     */
    @Test
    void aChunkEvictedWhileAFaultWaitsForItKeepsItsBytesForThatFault() throws Exception {
        byte[] pages = randomBytes(32 * CHUNK, 19);
        ExecutorService readAhead = Executors.newFixedThreadPool(2);
        java.util.concurrent.CountDownLatch chunkOneMayArrive = new java.util.concurrent.CountDownLatch(1);
        ChunkBuffers poisoning = new ChunkBuffers(64L << 20) {
            @Override
            void give(byte[] buffer) {
                java.util.Arrays.fill(buffer, (byte) 0x5A);
                super.give(buffer);
            }
        };
        try (SnapshotStore real = storeHolding(pages); Arena arena = Arena.ofShared()) {
            SnapshotStore store = holdingBackReadsAt(real, CHUNK, chunkOneMayArrive);
            StorePageSource source = new StorePageSource(store, "snap", new FetchTally(), CHUNK, KEEP_16, readAhead,
                    poisoning);
            source.readInOrder(1, 0, arena.allocate(PAGE)); // chunk 0 here, chunk 1 ahead (held back)

            MemorySegment waiterPage = arena.allocate(PAGE);
            Thread waiter = Thread.ofPlatform().start(() -> source.read(1, CHUNK + PAGE, waiterPage));
            while (waiter.getState() != Thread.State.WAITING) {
                Thread.sleep(1); // until the fault waits for chunk 1's fetch
            }
            MemorySegment page = arena.allocate(PAGE);
            for (int c = 2; c < 20; c++) {
                source.read(1, (long) c * CHUNK, page); // 18 more chunks: chunk 1 leaves the cache of 16
            }
            chunkOneMayArrive.countDown();
            waiter.join();
            assertThat(waiterPage.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(slice(pages, CHUNK + PAGE, PAGE));
            source.close();
        } finally {
            readAhead.shutdownNow();
        }
    }

    /** @return {@code store}, except that reads starting at {@code offset} wait for {@code latch} first */
    private static SnapshotStore holdingBackReadsAt(SnapshotStore store, long offset, java.util.concurrent.CountDownLatch latch) {
        return (SnapshotStore) java.lang.reflect.Proxy.newProxyInstance(SnapshotStore.class.getClassLoader(),
                new Class<?>[] {SnapshotStore.class}, (proxy, method, args) -> {
                    if (method.getName().equals("readInto") && args[2].equals(offset)) {
                        latch.await();
                    }
                    try {
                        return method.invoke(store, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    /** @return how many of {@code reads} random pages (some read in order, with read-ahead) differed from {@code pages} */
    private static int readRandomPages(StorePageSource source, byte[] pages, long seed, int reads) {
        Random random = new Random(seed);
        int wrong = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment page = arena.allocate(READ);
            for (int i = 0; i < reads; i++) {
                long offset = (long) random.nextInt((pages.length - READ) / PAGE) * PAGE;
                if (random.nextBoolean()) {
                    source.readInOrder(1, offset, page);
                } else {
                    source.read(1, offset, page);
                }
                if (!java.util.Arrays.equals(page.toArray(ValueLayout.JAVA_BYTE), slice(pages, (int) offset, READ))) {
                    wrong++;
                }
            }
        }
        return wrong;
    }

    private static void streamWhole(StorePageSource source, MemorySegment dst) {
        for (long at = 0; at < dst.byteSize(); at += 4 * PAGE) {
            source.readInOrder(1, at, dst.asSlice(at, 4 * PAGE));
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
