package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A node as {@code thaw up} starts it compiles its embedded S3 read path: throw-away chunks appear
 * in its bucket, are read back, and are deleted. Nothing is deployed, so every chunk object seen is
 * the warm-up's.
 */
class StoreWarmUpIT {
    private static final long APPEAR_NANOS = 30_000_000_000L;
    /** 4,000 GETs take ~12 s on a 2-core machine; a loaded CI machine gets ten times that. */
    private static final long GONE_NANOS = 120_000_000_000L;

    @Test
    void aFreshNodePutsReadsAndDeletesThrowAwayChunksInItsEmbeddedS3() throws Exception {
        try (TestNode node = new TestNode(dev.thaw.node.StoreSettings.DEFAULT)) {
            Path chunks = node.dataDir.resolve("store/s3/thaw-snapshots/c");

            assertThat(await(() -> count(chunks) > 0, APPEAR_NANOS))
                    .as("the warm-up's chunks appear in the embedded S3 bucket").isTrue();
            assertThat(await(() -> count(chunks) == 0, GONE_NANOS))
                    .as("the warm-up deletes its chunks once done").isTrue();
        }
    }

    private interface Check {
        boolean holds() throws IOException;
    }

    private static boolean await(Check check, long timeoutNanos) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeoutNanos;
        while (System.nanoTime() < deadline) {
            if (check.holds()) {
                return true;
            }
            Thread.sleep(20);
        }
        return check.holds();
    }

    private static long count(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(Files::isRegularFile).count();
        }
    }
}
