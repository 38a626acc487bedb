package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A node as {@code thaw up} starts it compiles its embedded S3 read path: throw-away chunks appear
 * in its bucket, are read back, and are deleted. Nothing is deployed, so every chunk object seen is
 * the warm-up's.
 */
class StoreWarmUpIT {
    private static final Duration APPEAR = Duration.ofSeconds(30);
    /** 4,000 GETs take ~12 s on a 2-core machine; a loaded CI machine gets ten times that. */
    private static final Duration GONE = Duration.ofSeconds(120);
    private static final Duration POLL = Duration.ofMillis(20);

    @Test
    void aFreshNodePutsReadsAndDeletesThrowAwayChunksInItsEmbeddedS3() throws Exception {
        try (TestNode node = new TestNode(dev.thaw.node.StoreSettings.DEFAULT)) {
            Path chunks = node.dataDir.resolve("store/s3/thaw-snapshots/c");

            assertThat(Eventually.poll(() -> count(chunks), n -> n > 0, APPEAR, POLL))
                    .as("the warm-up's chunks appear in the embedded S3 bucket").isPositive();
            assertThat(Eventually.poll(() -> count(chunks), n -> n == 0, GONE, POLL))
                    .as("the warm-up deletes its chunks once done").isZero();
        }
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
