package dev.thaw.store;

import static dev.thaw.store.TestSupport.MIB;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(TestSupport.class)
class DedupAndGcTest {
    private static final int CS = 512 * 1024;

    @TempDir
    Path tmp;

    /** Same images with one 512 KiB region of pages-1.img rewritten. */
    private Path variant(Path base, String name) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(name));
        for (Path f : TestSupport.files(base)) {
            Files.copy(f, dir.resolve(f.getFileName().toString()));
        }
        byte[] pages = Files.readAllBytes(dir.resolve("pages-1.img"));
        java.util.Arrays.fill(pages, 6 * MIB, 6 * MIB + CS, (byte) 0x5a);
        Files.write(dir.resolve("pages-1.img"), pages);
        return dir;
    }

    @Test
    void sharedChunksAreStoredOnceAndCountedAsShared() throws Exception {
        Path v1 = TestSupport.images(tmp.resolve("v1"), 21);
        Path v2 = variant(v1, "v2");
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), TestSupport.freshBucket(), CS).build()) {
            SnapshotStats one = statsAfterPut(store, "fn@1", v1);
            int afterFirst = TestSupport.chunkObjects(store, "disk");
            assertThat(afterFirst).isEqualTo(one.distinctChunks());
            store.put("fn@2", v2);
            int afterSecond = TestSupport.chunkObjects(store, "disk");
            assertThat(afterSecond).as("only the rewritten chunk is new").isEqualTo(afterFirst + 1);
            store.put("other-function", v1);
            assertThat(TestSupport.chunkObjects(store, "disk")).isEqualTo(afterSecond);
            for (String id : List.of("fn@1", "fn@2", "other-function")) {
                assertThat(store.awaitDurable(id, Duration.ofSeconds(30))).isTrue();
            }
            assertThat(TestSupport.chunkObjects(store, "s3")).isEqualTo(afterSecond);
            SnapshotStats two = store.stats("fn@2");
            assertThat(two.uniqueBytes()).isEqualTo(CS);
            assertThat(two.sharedBytes()).isEqualTo(two.storedBytes() - CS);
            assertThat(store.list()).containsExactly("fn@1", "fn@2", "other-function");
        }
    }

    private static SnapshotStats statsAfterPut(SnapshotStore store, String id, Path dir) {
        store.put(id, dir);
        return store.stats(id);
    }

    @Test
    void gcRemovesOnlyUnreferencedChunksFromEveryTier() throws Exception {
        Path v1 = TestSupport.images(tmp.resolve("v1"), 22);
        Path v2 = variant(v1, "v2");
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), TestSupport.freshBucket(), CS).build()) {
            store.put("fn@1", v2);
            store.put("fn@2", v1);
            store.awaitDurable("fn@1", Duration.ofSeconds(30));
            store.awaitDurable("fn@2", Duration.ofSeconds(30));
            int before = TestSupport.chunkObjects(store, "s3");
            assertThat(store.delete("fn@1")).isTrue();
            assertThat(store.delete("fn@1")).isFalse();
            GcResult result = store.gc();
            assertThat(result.deleted()).containsEntry("disk", 1).containsEntry("s3", 1).containsEntry("memory", 1);
            assertThat(TestSupport.chunkObjects(store, "s3")).isEqualTo(before - 1);
            assertThat(store.gc().totalDeleted()).isZero();
            TestSupport.clearMemory(store);
            store.materialize("fn@2", tmp.resolve("out"));
            TestSupport.assertSameFiles(v1, tmp.resolve("out"));
            assertThat(store.list()).containsExactly("fn@2");
        }
    }

    @Test
    void gcGracePeriodKeepsRecentChunks() throws Exception {
        Path v1 = TestSupport.images(tmp.resolve("v1"), 23);
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), TestSupport.freshBucket(), CS)
                .gcGrace(Duration.ofHours(1)).build()) {
            store.put("a", v1);
            store.awaitDurable("a", Duration.ofSeconds(30));
            store.delete("a");
            GcResult result = store.gc();
            assertThat(result.deleted()).containsEntry("disk", 0).containsEntry("s3", 0);
            assertThat(result.keptRecent()).isPositive();
        }
    }

    @Test
    void gcNeverRemovesChunksOfASnapshotBeingWritten() throws Exception {
        Path v1 = TestSupport.images(tmp.resolve("v1"), 24);
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), TestSupport.freshBucket(), 64 * 1024)
                .memoryBytes(0).build()) {
            for (int round = 0; round < 4; round++) {
                // the chunks of "old" become garbage while "new" (same content) is written concurrently
                store.put("old", v1);
                store.delete("old");
                AtomicBoolean writing = new AtomicBoolean(true);
                List<GcResult> results = new ArrayList<>();
                Thread collector = Thread.ofPlatform().start(() -> {
                    do { // at least once, even when the thread first runs after the write
                        results.add(store.gc());
                    } while (writing.get());
                });
                store.put("new", v1);
                writing.set(false);
                collector.join();
                assertThat(results).isNotEmpty();
                store.gc();
                Path out = tmp.resolve("out-" + round);
                store.materialize("new", out);
                TestSupport.assertSameFiles(v1, out);
                store.delete("new");
            }
        }
    }
}
