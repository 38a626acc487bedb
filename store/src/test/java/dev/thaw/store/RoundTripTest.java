package dev.thaw.store;

import static dev.thaw.store.TestSupport.MIB;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@ExtendWith(TestSupport.class)
class RoundTripTest {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "chunk size {0}")
    @ValueSource(ints = {64 * 1024, 512 * 1024, 2 * 1024 * 1024})
    void imagesRoundTripThroughEveryTier(int chunkSize) throws Exception {
        Path images = TestSupport.images(tmp.resolve("images"), 7);
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), TestSupport.freshBucket(), chunkSize).build()) {
            SnapshotManifest m = store.put("fn-a", images);
            ImageFile pages = m.file("pages-1.img").orElseThrow();
            assertThat(pages.size()).isEqualTo(Files.size(images.resolve("pages-1.img")));
            assertThat(pages.chunks()).allSatisfy(c -> assertThat(c.offset() % chunkSize).isZero());
            assertThat(pages.chunks()).filteredOn(ChunkRef::zero).hasSize(2 * MIB / chunkSize);
            assertThat(m.file("empty.img").orElseThrow().chunks()).isEmpty();

            store.materialize("fn-a", tmp.resolve("from-memory"));
            TestSupport.assertSameFiles(images, tmp.resolve("from-memory"));

            TestSupport.clearMemory(store);
            store.materialize("fn-a", tmp.resolve("from-disk"));
            TestSupport.assertSameFiles(images, tmp.resolve("from-disk"));
            assertThat(TestSupport.tier(store, "disk").stats().hits()).isPositive();

            assertThat(store.awaitDurable("fn-a", Duration.ofSeconds(30))).isTrue();
            TestSupport.clearMemory(store);
            TestSupport.dropChunks(store, "disk");
            ((DefaultSnapshotStore) store).dropManifestCache();
            store.materialize("fn-a", tmp.resolve("from-s3"));
            TestSupport.assertSameFiles(images, tmp.resolve("from-s3"));
            TierStats s3 = TestSupport.tier(store, "s3").stats();
            assertThat(s3.hits()).isPositive();
            assertThat(s3.bytesRead()).isPositive();
            ((DefaultSnapshotStore) store).awaitFills();
            assertThat(TestSupport.chunkObjects(store, "disk")).as("S3 reads refill the disk tier").isPositive();
        }
    }

    /** A put may choose its own chunk size (REAP working sets use larger chunks than the store's). */
    @Test
    void aSnapshotPutWithItsOwnChunkSizeIsCutInThatSizeAndReadBackFromEveryTier() throws Exception {
        Path images = TestSupport.images(tmp.resolve("images"), 5);
        byte[] late = new byte[4 * MIB];
        late[3 * MIB + 17] = 1; // zero for far more than one comparison slice, then not
        Files.write(images.resolve("late.img"), late);
        Files.write(images.resolve("zeros.img"), new byte[4 * MIB + 4096]);
        int big = 4 * MIB;
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), TestSupport.freshBucket(), 64 * 1024).build()) {
            SnapshotManifest m = store.put("ws", images, big);
            assertThat(m.chunkSize()).isEqualTo(big);
            assertThat(m.file("pages-1.img").orElseThrow().chunks()).extracting(ChunkRef::offset)
                    .containsExactly(0L, (long) big, 2L * big);
            assertThat(m.file("late.img").orElseThrow().chunks()).singleElement().matches(c -> !c.zero());
            assertThat(m.file("zeros.img").orElseThrow().chunks()).allMatch(ChunkRef::zero).hasSize(2);
            assertThat(store.manifest("ws").chunkSize()).isEqualTo(big);
            assertThat(store.stats("ws").chunkSize()).isEqualTo(big);

            assertThat(store.awaitDurable("ws", Duration.ofSeconds(30))).isTrue();
            TestSupport.clearMemory(store);
            TestSupport.dropChunks(store, "disk");
            ((DefaultSnapshotStore) store).dropManifestCache();
            byte[] pages = Files.readAllBytes(images.resolve("pages-1.img"));
            long gets = TestSupport.tier(store, "s3").stats().hits();
            byte[] got = store.read("ws", "pages-1.img", big - 4096, big + 8192);
            assertThat(got).isEqualTo(java.util.Arrays.copyOfRange(pages, big - 4096, 2 * big + 4096));
            assertThat(TestSupport.tier(store, "s3").stats().hits() - gets).as("one GET per 4 MiB chunk it touches").isEqualTo(3);
            store.materialize("ws", tmp.resolve("out"));
            TestSupport.assertSameFiles(images, tmp.resolve("out"));

            org.assertj.core.api.Assertions.assertThatThrownBy(() -> store.put("odd", images, 5000))
                    .isInstanceOf(StoreException.class).hasMessageContaining("cannot store snapshot 'odd'")
                    .hasMessageContaining("multiple of the 4096-byte page");
            assertThat(store.list()).doesNotContain("odd");
        }
    }

    @Test
    void pageRangeReadsAcrossChunkBoundaries() throws Exception {
        Path images = TestSupport.images(tmp.resolve("images"), 11);
        byte[] pages = Files.readAllBytes(images.resolve("pages-1.img"));
        int cs = 64 * 1024;
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), TestSupport.freshBucket(), cs).build()) {
            store.put("ranges", images);
            long[][] ranges = {{0, 4096}, {cs - 100, 200}, {cs - 1, 1}, {3L * cs - 10, 2 * cs + 20},
                    {2L * MIB - 4096, 8192}, {pages.length - 5000, 5000}, {12345, 0}, {4L * MIB + 7, 3 * cs},
                    {0, cs}, {5L * cs, cs}, {3L * MIB, cs}, {pages.length - pages.length % cs, pages.length % cs}}; // whole chunks too
            for (long[] r : ranges) {
                byte[] got = store.read("ranges", "pages-1.img", r[0], (int) r[1]);
                assertThat(got).as("range %d+%d", r[0], r[1])
                        .isEqualTo(java.util.Arrays.copyOfRange(pages, (int) r[0], (int) (r[0] + r[1])));
            }
            long s3Gets = TestSupport.tier(store, "s3").stats().hits();
            assertThat(s3Gets).as("served locally").isZero();
            byte[] chunk = store.read("ranges", "pages-1.img", cs, cs);
            chunk[0] ^= 1;
            assertThat(store.read("ranges", "pages-1.img", cs, cs)).as("each read's array is its caller's own")
                    .isEqualTo(java.util.Arrays.copyOfRange(pages, cs, 2 * cs));
            assertThat(store.read("ranges", "core-1.img", 10, 20))
                    .isEqualTo(java.util.Arrays.copyOfRange(Files.readAllBytes(images.resolve("core-1.img")), 10, 30));
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> store.read("ranges", "pages-1.img", pages.length - 1, 2))
                    .isInstanceOf(StoreException.class).hasMessageContaining("outside file 'pages-1.img'");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> store.read("ranges", "nope.img", 0, 1))
                    .isInstanceOf(StoreException.NotFound.class).hasMessageContaining("no file 'nope.img'");
        }
    }

    /** A whole image read from S3 alone is cached on disk again, even one of more chunks than the filler queued before. */
    @Test
    void anImageReadFromS3AloneIsRefilledIntoTheDiskTierWhole() throws Exception {
        Path images = tmp.resolve("big");
        Files.createDirectories(images);
        int chunks = 1500; // more than the 1,024 fills the filler used to queue
        Files.write(images.resolve("pages-1.img"), TestSupport.bytes(new java.util.SplittableRandom(17), chunks * 64 * 1024));
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), TestSupport.freshBucket(), 64 * 1024)
                .memoryBytes(0).build()) {
            store.put("big", images);
            assertThat(store.awaitDurable("big", Duration.ofSeconds(60))).isTrue();
            TestSupport.dropChunks(store, "disk");
            ((DefaultSnapshotStore) store).dropManifestCache();

            // the filler held up (as a slow disk would): every fill of the read queues behind it
            java.util.concurrent.CountDownLatch slowDisk = new java.util.concurrent.CountDownLatch(1);
            ((DefaultSnapshotStore) store).filler().execute(() -> {
                try {
                    slowDisk.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            store.materialize("big", tmp.resolve("from-s3"));
            TestSupport.assertSameFiles(images, tmp.resolve("from-s3"));
            slowDisk.countDown();
            assertThat(store.awaitBackgroundFills(Duration.ofMinutes(2))).isTrue();
            assertThat(TestSupport.chunkObjects(store, "disk")).isEqualTo(chunks);
        }
    }

    /**
     * Fills of the disk tier wait while the node says it is busy, and go on once it is not; a node
     * that is always busy still gets its disk filled after the longest wait.
     */
    @Test
    void diskFillsWaitWhileTheNodeIsBusyButNotForever() throws Exception {
        Path images = TestSupport.images(tmp.resolve("images"), 11);
        java.util.concurrent.atomic.AtomicBoolean busy = new java.util.concurrent.atomic.AtomicBoolean(true);
        int stored;
        try (SnapshotStore store = durableWithBusyFlag(images, "root", busy, Duration.ofMinutes(5), false)) {
            stored = TestSupport.chunkObjects(store, "disk");

            TestSupport.dropChunks(store, "disk");
            store.materialize("fn", tmp.resolve("while-busy"));
            assertThat(store.awaitBackgroundFills(Duration.ofMillis(500))).as("fills wait").isFalse();
            assertThat(TestSupport.chunkObjects(store, "disk")).isZero();
            busy.set(false);
            assertThat(store.awaitBackgroundFills(Duration.ofSeconds(30))).isTrue();
            assertThat(TestSupport.chunkObjects(store, "disk")).isEqualTo(stored);
        }

        busy.set(true);
        Duration limit = Duration.ofMillis(300);
        try (SnapshotStore store = durableWithBusyFlag(images, "root2", busy, limit, false)) {
            TestSupport.dropChunks(store, "disk");
            long start = System.nanoTime();
            store.materialize("fn", tmp.resolve("always-busy"));
            assertThat(store.awaitBackgroundFills(Duration.ofSeconds(30))).isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(limit);
            assertThat(TestSupport.chunkObjects(store, "disk")).as("filled after the longest wait").isEqualTo(stored);
            TestSupport.assertSameFiles(images, tmp.resolve("always-busy"));
        }
    }

    /** Uploads run on threads of the idle policy; restores' fetches on normal ones. */
    @Test
    void backgroundWorkRunsIdleAndFetchesDoNot() throws Exception {
        Path images = TestSupport.images(tmp.resolve("images"), 19);
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), TestSupport.freshBucket(), 512 * 1024).build()) {
            store.put("fn", images);
            assertThat(store.awaitDurable("fn", Duration.ofSeconds(30))).isTrue();
            TestSupport.clearMemory(store);
            store.materialize("fn", tmp.resolve("out"));
            TestSupport.awaitNoBoost(); // the upload's threads may have starved a moment
            java.util.Map<String, java.util.Set<Integer>> policies = new java.util.TreeMap<>();
            try (var tasks = Files.list(Path.of("/proc/self/task"))) {
                for (Path task : tasks.toList()) {
                    try {
                        String name = Files.readString(task.resolve("comm")).strip();
                        if (name.startsWith("thaw-store-")) {
                            int policy = TestSupport.schedulingPolicy(task.resolve("stat"));
                            policies.computeIfAbsent(name.replaceAll("\\d+$", ""), k -> new java.util.TreeSet<>()).add(policy);
                        }
                    } catch (java.io.IOException | java.io.UncheckedIOException gone) {
                        // a thread that ended meanwhile
                    }
                }
            }
            // thread names are cut to 15 characters: thaw-store-upload, thaw-store-write-N
            assertThat(policies).as("SCHED_IDLE is 5").containsEntry("thaw-store-put-", java.util.Set.of(5))
                    .containsEntry("thaw-store-uplo", java.util.Set.of(5)).containsEntry("thaw-store-writ", java.util.Set.of(5))
                    .containsEntry("thaw-store-io-", java.util.Set.of(0));
        }
    }

    /**
     * Chunks read from the disk tier or from S3 are copied into the memory tier as they are read,
     * where a second read finds them, and chunks from S3 reach the disk tier once the node is no
     * longer busy.
     */
    @ParameterizedTest(name = "from {0}")
    @ValueSource(strings = {"disk", "s3"})
    void chunksReachTheFasterTiersAndAreFetchedOnce(String from) throws Exception {
        Path images = TestSupport.images(tmp.resolve("images"), 23);
        java.util.concurrent.atomic.AtomicBoolean busy = new java.util.concurrent.atomic.AtomicBoolean(false);
        try (SnapshotStore store = durableWithBusyFlag(images, "root", busy, Duration.ofMinutes(5), true)) {
            int stored = TestSupport.chunkObjects(store, "memory");
            assertThat(stored).isPositive();
            TestSupport.clearMemory(store);
            if (from.equals("s3")) {
                TestSupport.dropChunks(store, "disk");
            }
            long sourceHits = TestSupport.tier(store, from).stats().hits();

            busy.set(true);
            FetchTally first = new FetchTally();
            store.materialize("fn", tmp.resolve("first"), java.util.Map.of(), first);
            long afterFirst = TestSupport.tier(store, from).stats().hits();
            assertThat(afterFirst - sourceHits).isGreaterThanOrEqualTo(stored);
            FetchTally second = new FetchTally();
            store.materialize("fn", tmp.resolve("second"), java.util.Map.of(), second);
            assertThat(first.bytesByTier()).containsKey(from).doesNotContainKey(from.equals("s3") ? "disk" : "s3");
            assertThat(second.bytesByTier()).as("a second read").containsOnlyKeys("memory");
            assertThat(TestSupport.tier(store, from).stats().hits()).as("not fetched again").isEqualTo(afterFirst);
            assertThat(TestSupport.chunkObjects(store, "memory")).isEqualTo(stored);
            if (from.equals("s3")) {
                assertThat(TestSupport.chunkObjects(store, "disk")).as("the disk fills wait").isZero();
            }

            busy.set(false);
            assertThat(store.awaitBackgroundFills(Duration.ofSeconds(30))).isTrue();
            assertThat(TestSupport.chunkObjects(store, "disk")).isEqualTo(stored);
            for (String copy : new String[] {"first", "second"}) {
                TestSupport.assertSameFiles(images, tmp.resolve(copy));
            }
        }
    }

    /**
     * A store of 512 KiB chunks whose fills wait while {@code busy} says so (at most {@code fillWait}),
     * holding {@code images} as snapshot "fn", uploaded: the upload reads the tiers too, so it must be
     * over before a test counts their reads.
     */
    private SnapshotStore durableWithBusyFlag(Path images, String root, java.util.concurrent.atomic.AtomicBoolean busy,
                                              Duration fillWait, boolean memoryTier) throws InterruptedException {
        SnapshotStore.Builder builder = TestSupport.store(tmp.resolve(root), TestSupport.freshBucket(), 512 * 1024)
                .quietWhen(() -> !busy.get()).fillWaitLimit(fillWait);
        SnapshotStore store = (memoryTier ? builder : builder.memoryBytes(0)).build();
        try {
            store.put("fn", images);
            assertThat(store.awaitDurable("fn", Duration.ofSeconds(30))).isTrue();
            return store;
        } catch (RuntimeException | Error | InterruptedException e) {
            store.close();
            throw e;
        }
    }

    /**
     * Into memory confined to the caller, the caller copies every chunk; into shared or heap memory,
     * the fetch threads decrypt whole chunks straight into place: both must give the file's bytes.
     */
    @ParameterizedTest
    @ValueSource(strings = {"confined", "shared", "heap"})
    void readIntoFillsASegmentFrontToBackAndSaysHowFarItGot(String memory) throws Exception {
        Path images = TestSupport.images(tmp.resolve("images"), 13);
        byte[] pages = Files.readAllBytes(images.resolve("pages-1.img"));
        int cs = 64 * 1024;
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), TestSupport.freshBucket(), cs).build();
             java.lang.foreign.Arena arena = memory.equals("shared") ? java.lang.foreign.Arena.ofShared() : java.lang.foreign.Arena.ofConfined()) {
            store.put("into", images);
            // from inside one chunk, across the zero chunks (2 MiB of zeros), to the end of the file
            long offset = cs / 2;
            java.lang.foreign.MemorySegment dest = memory.equals("heap")
                    ? java.lang.foreign.MemorySegment.ofArray(new byte[pages.length - (int) offset])
                    : arena.allocate(pages.length - offset);
            dest.fill((byte) 0x5a); // a zero chunk must be written as zeros, not left alone
            java.util.List<Long> arrived = new java.util.ArrayList<>();
            store.readInto("into", "pages-1.img", offset, dest, new FetchTally(), arrived::add);

            assertThat(dest.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
                    .isEqualTo(java.util.Arrays.copyOfRange(pages, (int) offset, pages.length));
            assertThat(arrived).as("one report per chunk, increasing, ending at the whole range").isSorted()
                    .doesNotHaveDuplicates().hasSize((int) ((pages.length - 1) / cs + 1))
                    .first().isEqualTo((long) cs / 2);
            assertThat(arrived.getLast()).isEqualTo(dest.byteSize());
        }
    }

    @Test
    void defaultStoreRunsItsOwnEmbeddedS3AndResumesAfterReopen() throws Exception {
        Path images = TestSupport.images(tmp.resolve("images"), 3);
        Path root = tmp.resolve("root");
        SnapshotStore.Builder builder = SnapshotStore.builder().root(root).secret(TestSupport.secret(5)).diskBytes(64L * MIB);
        try (SnapshotStore store = builder.build()) {
            store.put("hello@1", images);
            assertThat(store.awaitDurable("hello@1", Duration.ofSeconds(30))).isTrue();
            assertThat(store.list()).containsExactly("hello@1");
        }
        try (SnapshotStore reopened = builder.build()) {
            assertThat(reopened.list()).containsExactly("hello@1");
            assertThat(reopened.isDurable("hello@1")).isTrue();
            reopened.materialize("hello@1", tmp.resolve("out"));
            TestSupport.assertSameFiles(images, tmp.resolve("out"));
            SnapshotStats stats = reopened.stats("hello@1");
            assertThat(stats.durable()).isTrue();
            assertThat(stats.tiers()).contains("disk", "s3");
            assertThat(stats.zeroChunks()).isEqualTo(4);
            assertThat(stats.storedBytes()).as("zero region and repeated region not stored")
                    .isEqualTo(stats.logicalBytes() - 4L * MIB);
            assertThat(stats.uniqueBytes()).isEqualTo(stats.storedBytes());
            assertThat(stats.sharedBytes()).isZero();
        }
    }

    @Test
    void rejectsBadInput() {
        SnapshotStore.Builder b = SnapshotStore.builder().root(tmp).secret(new byte[8]);
        org.assertj.core.api.Assertions.assertThatThrownBy(b::build).hasMessageContaining("at least 32 bytes");
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> SnapshotStore.builder().root(tmp).secret(TestSupport.secret(1)).chunkSize(5000).build())
                .hasMessageContaining("multiple of the 4096-byte page");
    }
}
