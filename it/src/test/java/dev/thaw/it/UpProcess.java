package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.client.ThawClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code thaw up} as a user starts it, as a process of its own (the tests that use it kill it), its output in a log file. */
final class UpProcess {
    private static final Pattern LISTENING = Pattern.compile("thaw node listening on (http://127\\.0\\.0\\.1:\\d+)");

    private UpProcess() {
    }

    static Process start(Path nodeDir, Path log) throws IOException {
        return new ProcessBuilder(CliJar.command("up", "--port", "0", "--data-dir", nodeDir.toString(),
                "--store-no-warm-up")).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** @return a client of the node {@code up} started, once it listens */
    static ThawClient clientOf(Process up, Path nodeDir, Path log) throws Exception {
        String url = Eventually.poll(() -> listening(log), m -> m != null || !up.isAlive(), Duration.ofSeconds(90),
                Duration.ofMillis(100));
        assertThat(url).as("thaw up did not start: %s", Files.readString(log)).isNotNull();
        return ThawClient.create(java.net.URI.create(url), Files.readString(nodeDir.resolve("api-token")).strip());
    }

    /** kill -9: the node dies without a word, before a client closes (closing waits for invocations in flight). */
    static void kill(Process up) throws Exception {
        new ProcessBuilder("kill", "-9", Long.toString(up.pid())).start().waitFor();
        up.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
    }

    private static String listening(Path log) throws IOException {
        Matcher m = LISTENING.matcher(Files.readString(log));
        return m.find() ? m.group(1) : null;
    }
}
