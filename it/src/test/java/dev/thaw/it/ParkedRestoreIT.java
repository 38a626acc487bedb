package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.thaw.client.InvocationResult;
import dev.thaw.core.StartKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A sandboxed function version keeps a spare sandbox with its restore launcher parked in it: a
 * restore hands that launcher CRIU's command line, and the launcher stays the clone's supervisor. A
 * parked launcher that died is replaced on the restore's path by a spawned one.
 */
class ParkedRestoreIT {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Duration POLL = Duration.ofMillis(50);

    @Test
    void aRestoreStartsThroughTheParkedLauncherAndOneThatDiedIsReplacedOnThePath() throws Exception {
        assumeTrue(TestNode.criuAvailable(), "CRIU is not available");
        try (TestNode node = new TestNode()) {
            assumeTrue(node.node.sandboxStatus().startsWith("on"), "instances run without a sandbox here");
            node.deploy("parked", TestNode.TF + "EchoRequestHandler::handleRequest");
            node.primeSnapshot("parked", "{\"n\":1}");

            long spare = awaitParkedLauncher(node.dataDir);
            InvocationResult restored = node.invoke("parked", "{\"n\":2}");
            assertThat(restored.status()).isEqualTo(200);
            assertThat(restored.startKind()).isEqualTo(StartKind.RESTORE);
            if (waiting(spare)) {
                // the launcher was seen in the moment between its start and the pool's taking the spare
                // as ready, and the restore made its own sandbox: the spare is ready now
                node.client.evict("parked");
                assertThat(node.invoke("parked", "{\"n\":2}").startKind()).isEqualTo(StartKind.RESTORE);
            }
            assertThat(waiting(spare)).as("the parked launcher took the restore's command line").isFalse();
            assertThat(children(spare)).as("the parked launcher supervises the clone it restored").isNotEmpty();

            // the next spare's launcher dies before a restore takes it: the restore spawns one
            long next = Eventually.poll(() -> parkedLaunchers(node.dataDir).stream().filter(p -> p != spare)
                    .filter(ParkedRestoreIT::waiting).findFirst(), Optional::isPresent, WAIT, POLL).orElseThrow();
            new ProcessBuilder("kill", "-9", Long.toString(next)).start().waitFor();
            Eventually.poll(() -> ProcessHandle.of(next).map(ProcessHandle::isAlive).orElse(false), alive -> !alive,
                    WAIT, POLL);
            node.client.evict("parked");
            InvocationResult again = node.invoke("parked", "{\"n\":3}");
            assertThat(again.status()).as(new String(again.body())).isEqualTo(200);
            assertThat(again.startKind()).isEqualTo(StartKind.RESTORE);
            assertThat(new String(again.body())).contains("\"n\":3");
        }
    }

    /** @return a parked restore launcher of the node's spare sandbox, once there is one */
    private static long awaitParkedLauncher(Path dataDir) throws Exception {
        return Eventually.poll(() -> parkedLaunchers(dataDir).stream().filter(ParkedRestoreIT::waiting).findFirst(),
                Optional::isPresent, WAIT, POLL).orElseThrow();
    }

    /**
     * @return whether launcher {@code pid} still waits for its restore: its one child is the CRIU it
     *     started ahead, which waits for its command line (THAW_CRIU_COMMAND_FD in its environment)
     */
    private static boolean waiting(long pid) {
        List<ProcessHandle> children = children(pid);
        return !children.isEmpty() && children.stream()
                .allMatch(c -> read(Path.of("/proc/" + c.pid() + "/environ")).contains("THAW_CRIU_COMMAND_FD="));
    }

    /** @return the node's restore launchers that were parked (waiting still, or supervising the clone they restored) */
    private static List<Long> parkedLaunchers(Path dataDir) throws IOException {
        return TestNode.processesUnder(dataDir).stream().filter(pid -> {
            String cmdline = read(Path.of("/proc/" + pid + "/cmdline")).replace('\0', ' ');
            return cmdline.contains(" restore ") && cmdline.contains("--park-fd");
        }).toList();
    }

    private static List<ProcessHandle> children(long pid) {
        return ProcessHandle.of(pid).map(h -> h.children().toList()).orElse(List.of());
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
    }
}
