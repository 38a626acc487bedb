package dev.thaw.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.logging.Level;
import org.jclouds.logging.jdk.JDKLogger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the embedded server's backend logs, through jclouds' own JDK logger under the category its
 * blob store logs to. Jetty's EofException is what a request's body ending early raises there (a
 * node stopping mid-upload); this one stands for it, by its name, as the filter knows it.
 */
class EmbeddedS3Test {

    /** Named as Jetty's (shaded in S3Proxy) is. */
    static final class EofException extends IOException {
        EofException(String message) {
            super(message);
        }
    }

    @Test
    void anUploadWhoseClientWentAwayMidBodyIsOneQuietLineAndOtherFailuresStaySevere(@TempDir Path dir) throws Exception {
        try (LogCapture log = LogCapture.of("jclouds.blobstore"); EmbeddedS3 s3 = EmbeddedS3.start(dir)) {
            org.jclouds.logging.Logger blobstore = new JDKLogger.JDKLoggerFactory().getLogger("jclouds.blobstore");
            blobstore.error(new RuntimeException(new EofException("Early EOF")),
                    "An error occurred storing the new blob with name [%s] to container [%s].", "c/cut", "snapshots");
            blobstore.error(new IOException("No space left on device"),
                    "An error occurred storing the new blob with name [%s] to container [%s].", "c/full", "snapshots");

            assertThat(log.atLeast(Level.ALL)).hasSize(2);
            var quiet = log.atLeast(Level.ALL).getFirst();
            assertThat(quiet.getLevel()).isEqualTo(Level.FINE);
            assertThat(quiet.getThrown()).as("no stack").isNull();
            assertThat(log.message(quiet)).contains("c/cut", "its client went away before the body it announced had arrived"
                    + " (Early EOF)");
            assertThat(log.atLeast(Level.WARNING)).singleElement().satisfies(r -> {
                assertThat(r.getLevel()).isEqualTo(Level.SEVERE);
                assertThat(log.message(r)).contains("c/full");
                assertThat(r.getThrown()).hasMessage("No space left on device");
            });
        }
    }
}
