package dev.thaw.store;

import static dev.thaw.store.TestSupport.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Tier eviction, pairwise dedup figures, partial materialization, and stores with encryption off. */
@ExtendWith(TestSupport.class)
class EvictCompareAndPlainTest {
    private static final int CS = 64 * 1024;

    @TempDir
    Path tmp;

    @Test
    void evictedTiersAreSkippedAndTheTallySaysWhereBytesCameFrom() throws Exception {
        Path images = TestSupport.images(tmp.resolve("images"), 21);
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), TestSupport.freshBucket(), CS).build()) {
            store.put("ev", images);
            FetchTally fromMemory = new FetchTally();
            store.materialize("ev", tmp.resolve("m"), fromMemory);
            assertThat(fromMemory.bytesByTier()).containsOnlyKeys("memory");

            Map<String, Long> dropped = store.evict("ev", Set.of("memory"));
            assertThat(dropped.get("memory")).isEqualTo(store.stats("ev").storedBytes());
            FetchTally fromDisk = new FetchTally();
            store.materialize("ev", tmp.resolve("d"), fromDisk);
            // each distinct chunk once from disk; the image's repeated region then hits the refilled memory tier
            assertThat(fromDisk.bytesByTier().get("disk")).isEqualTo(store.stats("ev").storedBytes());
            assertThat(fromDisk.totalBytes()).isEqualTo(fromMemory.totalBytes());

            store.evict("ev", Set.of("memory"));
            if (!store.isDurable("ev")) {
                // the upload may finish between the check and the eviction: then the eviction is allowed
                Throwable refused = catchThrowable(() -> store.evict("ev", Set.of("disk")));
                if (refused == null) {
                    assertThat(store.isDurable("ev")).as("the disk copy went only once the snapshot was durable").isTrue();
                } else {
                    assertThat(refused).isInstanceOf(StoreException.class).hasMessageContaining("not durable yet");
                }
            }
            assertThat(store.awaitDurable("ev", Duration.ofSeconds(30))).isTrue();
            store.evict("ev", Set.of("memory", "disk"));
            assertThat(store.stats("ev").tiers()).containsExactly("s3");
            FetchTally fromS3 = new FetchTally();
            store.materialize("ev", tmp.resolve("s"), fromS3);
            assertThat(fromS3.bytesByTier()).doesNotContainKey("disk");
            assertThat(fromS3.bytesByTier().get("s3")).isEqualTo(store.stats("ev").storedBytes());
            TestSupport.assertSameFiles(images, tmp.resolve("s"));

            assertThatThrownBy(() -> store.evict("ev", Set.of("s3"))).isInstanceOf(StoreException.class)
                    .hasMessageContaining("from tier 's3'").hasMessageContaining("local tiers are [memory, disk]");
            assertThatThrownBy(() -> store.evict("nope", Set.of("memory"))).isInstanceOf(StoreException.NotFound.class);
        }
    }

    @Test
    void aSnapshotAnotherStoreUploadedIsDurableHereAndLeavesEveryLocalTier() throws Exception {
        Path images = TestSupport.images(tmp.resolve("images"), 22);
        S3Config bucket = TestSupport.freshBucket();
        try (SnapshotStore first = TestSupport.store(tmp.resolve("first"), bucket, CS).build()) {
            first.put("shared", images);
            assertThat(first.awaitDurable("shared", Duration.ofSeconds(30))).isTrue();
        }
        // another node of the same cluster: same bucket and secret, its own disk
        try (SnapshotStore second = TestSupport.store(tmp.resolve("second"), bucket, CS).build()) {
            second.materialize("shared", tmp.resolve("restored"), new FetchTally());
            assertThat(second.isDurable("shared")).as("read from S3").isTrue();
            assertThat(second.evict("shared", Set.of("memory", "disk"))).containsKeys("memory", "disk");
            assertThat(second.stats("shared").tiers()).containsExactly("s3");
            FetchTally again = new FetchTally();
            second.materialize("shared", tmp.resolve("again"), again);
            assertThat(again.bytesByTier().get("s3")).isPositive();
            TestSupport.assertSameFiles(images, tmp.resolve("again"));
        }
    }

    /** S3Proxy lists an object being written as "name-uuid": neither a manifest to open nor garbage to delete. */
    @Test
    void objectsUnderForeignNamesInS3AreNeitherOpenedNorCollected() throws Exception {
        Path images = TestSupport.images(tmp.resolve("images"), 61);
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), TestSupport.freshBucket(), CS).build()) {
            store.put("listed", images);
            assertThat(store.awaitDurable("listed", Duration.ofSeconds(30))).isTrue();
            ObjectTier s3 = TestSupport.tier(store, "s3").unwrap();
            String temp = "m/" + "ab".repeat(32) + "-779fde0e-ee9c-4457-bbbe-8ed97161b048";
            s3.put(temp, new byte[] {1, 2, 3});
            s3.put("c/" + "cd".repeat(32) + "-in-flight", new byte[] {4});
            ((DefaultSnapshotStore) store).dropManifestCache();
            assertThat(store.list()).containsExactly("listed");
            store.gc();
            assertThat(s3.exists(temp)).isTrue();
            store.materialize("listed", tmp.resolve("out"));
            TestSupport.assertSameFiles(images, tmp.resolve("out"));
        }
    }

    @Test
    void compareReportsWhatTwoSnapshotsShare() throws Exception {
        Path a = TestSupport.images(tmp.resolve("a"), 31);
        Path b = TestSupport.images(tmp.resolve("b"), 32);
        Path aAgain = tmp.resolve("a2");
        Files.createDirectories(aAgain);
        for (Path f : Files.list(a).toList()) {
            Files.copy(f, aAgain.resolve(f.getFileName()));
        }
        // change the last (partial, random) chunk of the copy: everything else is shared
        byte[] pages = Files.readAllBytes(aAgain.resolve("pages-1.img"));
        int lastChunk = pages.length % CS == 0 ? CS : pages.length % CS;
        Arrays.fill(pages, pages.length - 100, pages.length, (byte) 7);
        Files.write(aAgain.resolve("pages-1.img"), pages);
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), TestSupport.freshBucket(), CS).build()) {
            store.put("a", a);
            store.put("a2", aAgain);
            store.put("b", b);
            DedupStats same = store.compare("a", "a2");
            assertThat(same.bytes()).isEqualTo(store.stats("a").storedBytes());
            assertThat(same.sharedBytes()).isEqualTo(same.bytes() - lastChunk);
            assertThat(same.ratio()).isGreaterThan(1.9);
            DedupStats different = store.compare("a", "b");
            assertThat(different.sharedBytes()).as("random content shares nothing").isZero();
            assertThat(different.ratio()).isEqualTo(1.0);
        }
    }

    @Test
    void partialMaterializeFetchesOnlyTheChunksOfTheRangesAsked() throws Exception {
        Path images = TestSupport.images(tmp.resolve("images"), 41);
        byte[] pages = Files.readAllBytes(images.resolve("pages-1.img"));
        try (SnapshotStore store = TestSupport.store(tmp.resolve("root"), TestSupport.freshBucket(), CS).build()) {
            store.put("part", images);
            FetchTally tally = new FetchTally();
            List<ByteRange> wanted = List.of(new ByteRange(CS + 10, 100), new ByteRange(5L * MIB, 2 * CS));
            store.materialize("part", tmp.resolve("out"), Map.of("pages-1.img", wanted), tally);
            Path out = tmp.resolve("out/pages-1.img");
            assertThat(Files.size(out)).isEqualTo(pages.length);
            byte[] got = Files.readAllBytes(out);
            for (ByteRange r : wanted) {
                assertThat(Arrays.copyOfRange(got, (int) r.offset(), (int) r.end()))
                        .isEqualTo(Arrays.copyOfRange(pages, (int) r.offset(), (int) r.end()));
            }
            assertThat(Arrays.copyOfRange(got, 3 * CS, 4 * CS)).as("not asked: a hole").containsOnly(0);
            long otherFiles = store.manifest("part").files().stream().filter(f -> !f.name().equals("pages-1.img"))
                    .mapToLong(ImageFile::size).sum();
            assertThat(tally.totalBytes()).isEqualTo(otherFiles + 3L * CS);
            assertThat(Files.readAllBytes(tmp.resolve("out/core-1.img"))).isEqualTo(Files.readAllBytes(images.resolve("core-1.img")));
        }
    }

    @Test
    void encryptionOffStoresPlainChunksThatAreStillVerified() throws Exception {
        Path images = TestSupport.images(tmp.resolve("images"), 51);
        S3Config bucket = TestSupport.freshBucket();
        try (SnapshotStore plain = TestSupport.store(tmp.resolve("root"), bucket, CS).encryption(false).build()) {
            SnapshotManifest m = plain.put("plain", images);
            assertThat(m.plainChunks()).isTrue();
            plain.materialize("plain", tmp.resolve("out"));
            TestSupport.assertSameFiles(images, tmp.resolve("out"));
            assertThat(plain.awaitDurable("plain", Duration.ofSeconds(30))).isTrue();

            // a flipped bit in the only local copy: discarded, healed from S3
            MeteredTier disk = TestSupport.tier(plain, "disk");
            ChunkRef ref = m.file("pages-1.img").orElseThrow().chunks().get(0);
            String name = ((DefaultSnapshotStore) plain).keys().chunkObject(m, ref);
            byte[] object = disk.unwrap().get(name);
            assertThat(object[0]).isEqualTo(ChunkCodec.FORMAT_PLAIN);
            object[100] ^= 1;
            Files.write(((DiskTier) disk.unwrap()).path(name), object);
            plain.evict("plain", Set.of("memory"));
            assertThat(plain.read("plain", "pages-1.img", 0, 4096))
                    .isEqualTo(Arrays.copyOfRange(Files.readAllBytes(images.resolve("pages-1.img")), 0, 4096));
            assertThat(disk.stats().discarded()).isPositive();
        }
        // a store with encryption on reads the plain snapshot, and writes its own chunks encrypted, under other names
        try (SnapshotStore encrypted = TestSupport.store(tmp.resolve("root"), bucket, CS).build()) {
            encrypted.materialize("plain", tmp.resolve("again"));
            TestSupport.assertSameFiles(images, tmp.resolve("again"));
            SnapshotManifest sealed = encrypted.put("sealed", images);
            assertThat(sealed.plainChunks()).isFalse();
            assertThat(encrypted.compare("plain", "sealed").sharedBytes()).as("never dedups with plaintext").isZero();
        }
    }
}
