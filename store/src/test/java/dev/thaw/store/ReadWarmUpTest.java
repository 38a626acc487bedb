package dev.thaw.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The S3 read warm-up: real GETs against the embedded server, nothing left behind, never a failure. */
@ExtendWith(TestSupport.class)
class ReadWarmUpTest {
    private static final int CHUNK = 64 * 1024;
    private final ExecutorService pool = Executors.newFixedThreadPool(3);

    @AfterEach
    void stopPool() {
        pool.shutdownNow();
    }

    @Test
    void readsThrowAwayChunksBackThenDeletesThem() {
        try (MeteredTier s3 = new MeteredTier(new S3Tier(TestSupport.freshBucket(), Duration.ofSeconds(10)))) {
            ReadWarmUp warmUp = new ReadWarmUp(s3, CHUNK, pool, 40, () -> true, () -> false);
            warmUp.run();

            TierStats stats = s3.stats();
            assertThat(warmUp.gets()).isGreaterThanOrEqualTo(40);
            assertThat(stats.puts()).isEqualTo(ReadWarmUp.CHUNKS);
            assertThat(stats.hits()).isEqualTo(warmUp.gets());
            assertThat(stats.bytesRead()).isGreaterThan((long) warmUp.gets() * CHUNK);
            assertThat(stats.deletes()).isEqualTo(ReadWarmUp.CHUNKS);
            assertThat(s3.list("")).isEmpty();
        }
    }

    @Test
    void readsNothingWhileTheNodeIsBusyAndGoesOnOnceItIsQuiet() throws InterruptedException {
        AtomicBoolean quiet = new AtomicBoolean(false);
        try (MeteredTier s3 = new MeteredTier(new S3Tier(TestSupport.freshBucket(), Duration.ofSeconds(10)))) {
            ReadWarmUp warmUp = new ReadWarmUp(s3, CHUNK, pool, 40, quiet::get, () -> false);
            Thread runner = Thread.ofPlatform().start(warmUp);
            Thread.sleep(300);
            assertThat(warmUp.gets()).isZero();
            assertThat(s3.stats().hits()).isZero();

            quiet.set(true);
            runner.join(30_000);
            assertThat(runner.isAlive()).isFalse();
            assertThat(warmUp.gets()).isGreaterThanOrEqualTo(40);
            assertThat(s3.list("")).isEmpty();
        }
    }

    @Test
    void aClosingStoreStopsItBeforeItWritesAnything() {
        try (MeteredTier s3 = new MeteredTier(new S3Tier(TestSupport.freshBucket(), Duration.ofSeconds(10)))) {
            ReadWarmUp warmUp = new ReadWarmUp(s3, CHUNK, pool, 40, () -> true, () -> true);
            warmUp.run();

            assertThat(warmUp.gets()).isZero();
            assertThat(s3.stats().puts()).isZero();
            assertThat(s3.list("")).isEmpty();
        }
    }

    @Test
    void anUnreachableS3EndsItQuietly() {
        S3Config nowhere = new S3Config(URI.create("http://127.0.0.1:1"), "us-east-1", "thaw-warm-up", "", "a", "b");
        try (MeteredTier s3 = new MeteredTier(new S3Tier(nowhere, Duration.ofSeconds(5)))) {
            ReadWarmUp warmUp = new ReadWarmUp(s3, CHUNK, pool, 40, () -> true, () -> false);
            warmUp.run(); // must return, not throw

            assertThat(warmUp.gets()).isZero();
            assertThat(s3.stats().errors()).isPositive();
        }
    }
}
