package dev.thaw.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(TestSupport.class)
class CorruptionTest {
    private static final int CS = 512 * 1024;

    @TempDir
    Path tmp;
    private Path images;
    private S3Config bucket;
    private SnapshotStore store;
    private String chunk0;

    @BeforeEach
    void storeOneSnapshot() throws Exception {
        images = TestSupport.images(tmp.resolve("images"), 31);
        bucket = TestSupport.freshBucket();
        store = TestSupport.store(tmp.resolve("root"), bucket, CS).build();
        SnapshotManifest m = store.put("victim", images);
        assertThat(store.awaitDurable("victim", Duration.ofSeconds(30))).isTrue();
        ChunkRef first = m.file("pages-1.img").orElseThrow().chunks().get(0);
        chunk0 = ((DefaultSnapshotStore) store).keys().chunkObject(ChunkCodec.unhex(first.hash()));
    }

    @AfterEach
    void close() {
        store.close();
    }

    private void damageInS3(java.util.function.UnaryOperator<byte[]> damage) {
        ObjectTier s3 = TestSupport.tier(store, "s3").unwrap();
        s3.put(chunk0, damage.apply(s3.get(chunk0)));
        TestSupport.clearMemory(store);
        TestSupport.dropChunks(store, "disk");
    }

    private static byte[] flipBit(byte[] b) {
        byte[] c = b.clone();
        c[c.length / 2] ^= 0x10;
        return c;
    }

    @Test
    void flippedBitIsDetectedAndNamesSnapshotFileAndChunk() {
        damageInS3(CorruptionTest::flipBit);
        assertThatThrownBy(() -> store.read("victim", "pages-1.img", 0, 4096))
                .isInstanceOf(StoreException.Corrupted.class)
                .hasMessageContaining("chunk 0 (offset 0, 524288 bytes) of file 'pages-1.img' of snapshot 'victim' in tier s3")
                .hasMessageContaining("authentication failed");
        assertThatThrownBy(() -> store.materialize("victim", tmp.resolve("out")))
                .isInstanceOf(StoreException.Corrupted.class);
        assertThat(tmp.resolve("out").resolve("pages-1.img")).doesNotExist();
        assertThat(TestSupport.files(tmp.resolve("out"))).noneMatch(p -> p.getFileName().toString().endsWith(".part"));
    }

    @Test
    void truncatedObjectIsDetected() {
        damageInS3(b -> Arrays.copyOf(b, b.length - 100));
        assertThatThrownBy(() -> store.read("victim", "pages-1.img", 10, 10))
                .isInstanceOf(StoreException.Corrupted.class)
                .hasMessageContaining("of snapshot 'victim' in tier s3 is corrupted");
        damageInS3(b -> Arrays.copyOf(b, 5));
        assertThatThrownBy(() -> store.read("victim", "pages-1.img", 10, 10))
                .hasMessageContaining("object is truncated");
    }

    @Test
    void missingObjectIsReportedAsMissingFromEveryTier() {
        TestSupport.tier(store, "s3").unwrap().delete(chunk0);
        TestSupport.clearMemory(store);
        TestSupport.dropChunks(store, "disk");
        assertThatThrownBy(() -> store.read("victim", "pages-1.img", 0, 1))
                .isInstanceOf(StoreException.Corrupted.class)
                .hasMessageContaining("chunk 0 (offset 0, 524288 bytes) of file 'pages-1.img' of snapshot 'victim'")
                .hasMessageContaining("missing from every tier (memory, disk, s3)");
    }

    @Test
    void wrongSecretIsDetected() {
        store.close();
        try (SnapshotStore wrong = TestSupport.store(tmp.resolve("other-root"), bucket, CS)
                .secret(TestSupport.secret(99)).build()) {
            assertThatThrownBy(wrong::list).isInstanceOf(StoreException.Corrupted.class)
                    .hasMessageContaining("manifest authentication failed (wrong store secret");
            assertThatThrownBy(() -> wrong.manifest("victim")).isInstanceOf(StoreException.NotFound.class)
                    .hasMessageContaining("no snapshot 'victim'");
        }
        // a chunk object opened with keys derived from another secret
        ChunkCodec other = new ChunkCodec(new StoreKeys(TestSupport.secret(99)));
        byte[] sealed = TestSupport.tier(reopen(), "s3").unwrap().get(chunk0);
        ChunkRef ref = store.manifest("victim").file("pages-1.img").orElseThrow().chunks().get(0);
        assertThatThrownBy(() -> other.open(ChunkCodec.unhex(ref.hash()), chunk0, sealed, ref.length(), false))
                .isInstanceOf(IntegrityFailure.class).hasMessageContaining("wrong store secret");
    }

    private SnapshotStore reopen() {
        store = TestSupport.store(tmp.resolve("root"), bucket, CS).build();
        return store;
    }

    @Test
    void corruptedLocalChunkIsDiscardedAndHealedFromS3() throws Exception {
        TestSupport.clearMemory(store);
        Path file = ((DiskTier) TestSupport.tier(store, "disk").unwrap()).path(chunk0);
        Files.write(file, flipBit(Files.readAllBytes(file)));
        byte[] expected = Arrays.copyOfRange(Files.readAllBytes(images.resolve("pages-1.img")), 0, 8192);
        assertThat(store.read("victim", "pages-1.img", 0, 8192)).isEqualTo(expected);
        TierStats disk = TestSupport.tier(store, "disk").stats();
        assertThat(disk.discarded()).isEqualTo(1);
        assertThat(TestSupport.tier(store, "s3").stats().hits()).isEqualTo(1);
        ((DefaultSnapshotStore) store).awaitFills();
        TestSupport.clearMemory(store);
        assertThat(store.read("victim", "pages-1.img", 0, 8192)).isEqualTo(expected);
        assertThat(TestSupport.tier(store, "s3").stats().hits()).as("healed copy served from disk").isEqualTo(1);
    }

    /**
     * Each chunk that fails verification counts against its tier (as an integrity failure and as an
     * error) and is logged as one line naming the snapshot, file, chunk and tier, without a stack trace.
     */
    @Test
    void aChunkFailingVerificationOnDiskIsCountedAndLoggedAsOneLine() throws Exception {
        TestSupport.clearMemory(store);
        Path file = ((DiskTier) TestSupport.tier(store, "disk").unwrap()).path(chunk0);
        Files.write(file, flipBit(Files.readAllBytes(file)));
        try (LogCapture log = LogCapture.of("dev.thaw.store")) {
            store.read("victim", "pages-1.img", 0, 8192);

            TierStats disk = TestSupport.tier(store, "disk").stats();
            assertThat(disk.integrityFailures()).isEqualTo(1);
            assertThat(disk.errors()).isEqualTo(1);
            assertThat(TestSupport.tier(store, "s3").stats().integrityFailures()).isZero();
            assertThat(log.atLeast(java.util.logging.Level.WARNING)).singleElement().satisfies(r -> {
                assertThat(r.getThrown()).as("no stack trace").isNull();
                assertThat(log.message(r)).doesNotContain("\n")
                        .contains("chunk 0 (offset 0, 524288 bytes) of file 'pages-1.img' of snapshot 'victim' in tier disk")
                        .contains("authentication failed");
            });
        }
    }

    @Test
    void aChunkFailingVerificationInTheLastTierIsCountedAndLoggedAsOneLine() {
        damageInS3(b -> Arrays.copyOf(b, b.length - 100));
        try (LogCapture log = LogCapture.of("dev.thaw.store")) {
            assertThatThrownBy(() -> store.read("victim", "pages-1.img", 0, 4096)).isInstanceOf(StoreException.Corrupted.class);

            TierStats s3 = TestSupport.tier(store, "s3").stats();
            assertThat(s3.integrityFailures()).isEqualTo(1);
            assertThat(s3.errors()).isEqualTo(1);
            assertThat(log.atLeast(java.util.logging.Level.WARNING)).singleElement().satisfies(r -> {
                assertThat(r.getLevel()).isEqualTo(java.util.logging.Level.SEVERE);
                assertThat(r.getThrown()).as("no stack trace").isNull();
                assertThat(log.message(r)).doesNotContain("\n")
                        .contains("chunk 0 (offset 0, 524288 bytes) of file 'pages-1.img' of snapshot 'victim' in tier s3");
            });
        }
    }

    /** Whole chunks read into shared memory are decrypted in place: a damaged copy must be caught there too. */
    @Test
    void chunksDecryptedStraightIntoSharedMemoryAreVerifiedAndHealedToo() throws Exception {
        byte[] pages = Files.readAllBytes(images.resolve("pages-1.img"));
        TestSupport.clearMemory(store);
        Path file = ((DiskTier) TestSupport.tier(store, "disk").unwrap()).path(chunk0);
        Files.write(file, flipBit(Files.readAllBytes(file)));
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
            java.lang.foreign.MemorySegment dest = arena.allocate(2L * CS);
            store.readInto("victim", "pages-1.img", 0, dest, new FetchTally(), arrived -> { });
            assertThat(dest.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).isEqualTo(Arrays.copyOfRange(pages, 0, 2 * CS));
            assertThat(TestSupport.tier(store, "disk").stats().discarded()).isEqualTo(1);

            // The heal refilled the disk copy in the background, and the read the memory tier: with
            // both good again the read below was served before S3 whenever the fill won the race.
            ((DefaultSnapshotStore) store).awaitFills();
            TestSupport.clearMemory(store);
            Files.write(file, flipBit(Files.readAllBytes(file)));
            damageInS3(CorruptionTest::flipBit);
            java.util.List<Long> arrived = new java.util.ArrayList<>();
            assertThatThrownBy(() -> store.readInto("victim", "pages-1.img", 0, dest, new FetchTally(), arrived::add))
                    .isInstanceOf(StoreException.Corrupted.class)
                    .hasMessageContaining("chunk 0 (offset 0, 524288 bytes) of file 'pages-1.img' of snapshot 'victim' in tier s3")
                    .hasMessageContaining("authentication failed");
            assertThat(arrived).as("nothing reported usable before the damaged first chunk").isEmpty();
        }
    }

    @Test
    void manifestsAndObjectNamesRevealNoPlaintextHashOrKey() throws Exception {
        SnapshotManifest m = store.manifest("victim");
        String hash = m.file("pages-1.img").orElseThrow().chunks().get(0).hash();
        ObjectTier s3 = TestSupport.tier(store, "s3").unwrap();
        assertThat(s3.list("")).allSatisfy(o -> assertThat(o.key()).doesNotContain(hash).doesNotContain("victim"));
        byte[] sealedManifest = s3.get(((DefaultSnapshotStore) store).keys().manifestObject("victim"));
        assertThat(new String(sealedManifest, java.nio.charset.StandardCharsets.ISO_8859_1)).doesNotContain(hash)
                .doesNotContain("pages-1.img");
    }
}
