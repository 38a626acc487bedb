package dev.thaw.store;

import static dev.thaw.store.TestSupport.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs its own S3 server, which it stops and restarts. */
class S3OutageTest {
    private static final int CS = 512 * 1024;

    @TempDir
    Path tmp;
    private EmbeddedS3 s3;

    @BeforeEach
    void start() {
        s3 = EmbeddedS3.start(tmp.resolve("s3"));
    }

    @AfterEach
    void stop() {
        s3.close();
    }

    @Test
    void uploadsResumeWhenS3ComesBackAndTheSnapshotBecomesDurable() throws Exception {
        Path images = TestSupport.images(tmp.resolve("images"), 41);
        S3Config config = s3.config("outage");
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), config, CS).build()) {
            store.put("warmup", TestSupport.images(tmp.resolve("warm"), 40));
            assertThat(store.awaitDurable("warmup", Duration.ofSeconds(30))).isTrue();

            store.put("fn", images);
            s3.stop();
            assertThat(store.awaitDurable("fn", Duration.ofMillis(500))).isFalse();
            assertThat(store.stats("fn").tiers()).containsExactly("memory", "disk");
            store.materialize("fn", tmp.resolve("local"));
            TestSupport.assertSameFiles(images, tmp.resolve("local"));
            assertThat(store.gc()).as("gc refuses to run blind").isNull();
        } catch (StoreException.Unavailable expected) {
            assertThat(expected).hasMessageContaining("cannot collect garbage");
        }
        // reopen the store while S3 is still down: the upload is resumed from the local copy
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), config, CS).build()) {
            assertThat(store.isDurable("fn")).isFalse();
            s3.restart();
            assertThat(store.awaitDurable("fn", Duration.ofSeconds(30))).isTrue();
            assertThat(store.stats("fn").tiers()).contains("s3");
        }
        try (SnapshotStore elsewhere = TestSupport.store(tmp.resolve("fresh-node"), config, CS).build()) {
            elsewhere.materialize("fn", tmp.resolve("remote"));
            TestSupport.assertSameFiles(images, tmp.resolve("remote"));
        }
    }

    /** A local copy found damaged when its upload checks it counts against its tier and is logged as one line. */
    @Test
    void aChunkFailingVerificationBeforeItsUploadIsCountedAndLoggedAsOneLine() throws Exception {
        Path images = TestSupport.images(tmp.resolve("images"), 43);
        s3.stop();
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), s3.config("damaged"), CS).memoryBytes(0).build();
             LogCapture log = LogCapture.of("dev.thaw.store")) {
            SnapshotManifest m = store.put("fn", images);
            ChunkRef first = m.file("pages-1.img").orElseThrow().chunks().get(0);
            String name = ((DefaultSnapshotStore) store).keys().chunkObject(ChunkCodec.unhex(first.hash()));
            Path onDisk = ((DiskTier) TestSupport.tier(store, "disk").unwrap()).path(name);
            byte[] damaged = Files.readAllBytes(onDisk);
            damaged[damaged.length / 2] ^= 0x10;
            Files.write(onDisk, damaged);
            s3.restart();

            // the upload thread counts the failure, then logs it: wait for its line, the last of its steps
            // (it runs at idle priority, so this thread may well run between those steps)
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (log.atLeast(java.util.logging.Level.WARNING).stream().noneMatch(r -> log.message(r).startsWith("integrity"))
                    && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            TierStats disk = TestSupport.tier(store, "disk").stats();
            assertThat(disk.integrityFailures()).isEqualTo(1);
            assertThat(disk.errors()).isGreaterThanOrEqualTo(1);
            assertThat(store.isDurable("fn")).isFalse();
            assertThat(log.atLeast(java.util.logging.Level.WARNING)).filteredOn(r -> log.message(r).startsWith("integrity"))
                    .singleElement().satisfies(r -> {
                        assertThat(r.getThrown()).as("no stack trace").isNull();
                        assertThat(log.message(r)).doesNotContain("\n").contains("chunk 0 (offset 0, 524288 bytes) of file"
                                + " 'pages-1.img' of snapshot 'fn' in tier disk").contains("before its upload");
                    });
        }
    }

    @Test
    void uploadInterruptedMidwayResumesInTheSameStore() throws Exception {
        Path images = TestSupport.images(tmp.resolve("images"), 42);
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), s3.config("midway"), 64 * 1024)
                .uploadThreads(1).build()) {
            store.put("fn", images);
            Path uploaded = tmp.resolve("s3/midway/c");
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (chunkFiles(uploaded) == 0 && System.nanoTime() < deadline) {
                Thread.sleep(2);
            }
            s3.stop();
            long partial = chunkFiles(uploaded);
            int total = store.stats("fn").distinctChunks();
            assertThat(partial).as("stopped mid-upload").isBetween(1L, (long) total - 1);
            assertThat(store.isDurable("fn")).isFalse();
            Thread.sleep(300);
            s3.restart();
            assertThat(store.awaitDurable("fn", Duration.ofSeconds(30))).isTrue();
            TestSupport.clearMemory(store);
            TestSupport.dropChunks(store, "disk");
            store.materialize("fn", tmp.resolve("out"));
            TestSupport.assertSameFiles(images, tmp.resolve("out"));
        }
    }

    @Test
    void readsNeedingS3WhileItIsDownFailClearly() throws Exception {
        Path images = TestSupport.images(tmp.resolve("images"), 43);
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), s3.config("down"), CS).build()) {
            store.put("fn", images);
            assertThat(store.awaitDurable("fn", Duration.ofSeconds(30))).isTrue();
            s3.stop();
            assertThat(store.read("fn", "pages-1.img", 0, 100)).hasSize(100);
            TestSupport.clearMemory(store);
            TestSupport.dropChunks(store, "disk");
            assertThatThrownBy(() -> store.read("fn", "pages-1.img", 0, 100))
                    .isInstanceOf(StoreException.Unavailable.class)
                    .hasMessageContaining("chunk 0 (offset 0, 524288 bytes) of file 'pages-1.img' of snapshot 'fn'")
                    .hasMessageContaining("remote tier is unreachable");
            s3.restart();
            assertThat(readOnceReachable(store))
                    .isEqualTo(java.util.Arrays.copyOf(Files.readAllBytes(images.resolve("pages-1.img")), 100));
        }
    }

    private static long chunkFiles(Path dir) throws java.io.IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (var files = Files.walk(dir)) {
            // whole chunks only: the embedded server writes each into a temporary file of another name first
            return files.filter(Files::isRegularFile).filter(f -> f.getFileName().toString().matches("[0-9a-f]{64}")).count();
        }
    }

    /** Unavailable means "try later": connections pooled before the restart may fail a first attempt or two. */
    private static byte[] readOnceReachable(SnapshotStore store) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (true) {
            try {
                return store.read("fn", "pages-1.img", 0, 100);
            } catch (StoreException.Unavailable e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
    }

    @Test
    void fullDiskFailsClearlyAndLeavesNothingHalfWritten() throws Exception {
        Path images = TestSupport.images(tmp.resolve("images"), 44);
        s3.stop();
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), s3.config("full"), CS)
                .diskBytes(3L * MIB).build()) {
            assertThatThrownBy(() -> store.put("big", images))
                    .isInstanceOf(StoreException.Full.class)
                    .hasMessageContaining("disk tier full")
                    .hasMessageContaining("waiting for their upload to S3");
            assertThat(TestSupport.files(tmp.resolve("root/disk/tmp"))).isEmpty();
            assertThat(store.list()).isEmpty();
        }
    }

    @Test
    void diskTierEvictsDurableChunksAndRefetchesThem() throws Exception {
        Path a = TestSupport.images(tmp.resolve("a"), 45);
        Path b = TestSupport.images(tmp.resolve("b"), 46);
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), s3.config("evict"), CS)
                .diskBytes(6L * MIB).memoryBytes(0).build()) {
            store.put("a", a);
            assertThat(store.awaitDurable("a", Duration.ofSeconds(30))).isTrue();
            store.put("b", b);
            TierStats disk = TestSupport.tier(store, "disk").stats();
            assertThat(disk.storedBytes()).isLessThanOrEqualTo(6L * MIB);
            assertThat(store.stats("a").tiers()).doesNotContain("disk");
            store.materialize("a", tmp.resolve("out"));
            TestSupport.assertSameFiles(a, tmp.resolve("out"));
            assertThat(store.awaitDurable("b", Duration.ofSeconds(30))).isTrue();
        }
    }
}
