package dev.thaw.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A node killed with SIGKILL takes its instances along, booted and restored, and the next node on
 * its data directory sweeps what the kernel kept; two live nodes never share a data directory.
 */
class NodeDeathTest {

    @Test
    void aKilledNodeTakesItsInstancesAlongAndTheNextOneSweepsWhatIsLeft() throws Exception {
        SandboxFixture.assumeCriu();
        Path dataDir = Files.createTempDirectory(Path.of("/tmp"), "thaw-sandbox-owner-");
        Process owner = null;
        try {
            owner = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    SandboxOwner.class.getName(), dataDir.toString(), SandboxFixture.CRIU.toString())
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(owner.getInputStream(), StandardCharsets.UTF_8));
            String line = CompletableFuture.supplyAsync(() -> {
                try {
                    String l;
                    while ((l = out.readLine()) != null && !l.startsWith("pids ")) {
                        System.out.println("owner: " + l);
                    }
                    return l;
                } catch (java.io.IOException e) {
                    return null;
                }
            }).get(120, TimeUnit.SECONDS);
            assertThat(line).as("the owner started its instances").isNotNull();
            List<Long> pids = Arrays.stream(line.substring("pids ".length()).replace(" clone ", " ").split(" ")).map(Long::parseLong).toList();
            assertThat(pids).hasSizeGreaterThanOrEqualTo(5); // launcher and JVM; CRIU and the clone's root; the clone again

            // a second node on the same data directory is refused while the first lives
            assertThatThrownBy(() -> Sandboxes.open(SandboxConfig.builder(dataDir).build()))
                    .isInstanceOf(SandboxException.class)
                    .hasMessage("another thaw node (pid " + owner.pid() + ") is using the data directory " + dataDir
                            + ": stop it, or give this node a data directory of its own");

            long killed = System.nanoTime();
            owner.destroyForcibly(); // SIGKILL
            owner.waitFor(10, TimeUnit.SECONDS);
            while (pids.stream().anyMatch(NodeDeathTest::alive) && System.nanoTime() - killed < TimeUnit.SECONDS.toNanos(5)) {
                Thread.sleep(5);
            }
            long gone = System.nanoTime() - killed;
            assertThat(pids.stream().filter(NodeDeathTest::alive)).as("instance processes left %d ms after the node died",
                    gone / 1_000_000).isEmpty();
            System.out.printf("every instance process was gone %.0f ms after the node's SIGKILL%n", gone / 1e6);

            Path staging = Path.of("/run/thaw-sandbox", Sandboxes.nodeKey(dataDir));
            assertThat(staging).as("the dead node's restores' staging directory").isDirectory();
            try (Sandboxes next = Sandboxes.open(SandboxConfig.builder(dataDir).build())) {
                SweepReport swept = next.swept();
                System.out.println("the next node swept: " + swept);
                assertThat(swept.cgroups()).isEqualTo(2);
                assertThat(swept.processesKilled()).as("none left to kill").isZero();
                assertThat(swept.scratchMounts()).isEqualTo(2);
                assertThat(swept.directories()).isEqualTo(4); // scratch and run of each
                assertThat(swept.toString()).isEqualTo("removed 2 cgroups (0 processes killed), 2 scratch mounts, 4 work directories");
                assertThat(Files.readAllLines(Path.of("/proc/self/mountinfo"))).noneMatch(l -> l.contains(dataDir.toString()));
                // identities survive the node
                assertThat(next.identity("probe").uid()).isEqualTo(2_000_000_001L);
            }
            assertThat(staging).as("removed when the next node closed").doesNotExist();
        } finally {
            if (owner != null) {
                owner.destroyForcibly();
                owner.waitFor(10, TimeUnit.SECONDS);
            }
            // a run that failed half-way: sweep what it left, then remove the directory
            try (Sandboxes cleanup = Sandboxes.open(SandboxConfig.builder(dataDir).build())) {
                cleanup.swept();
            }
            SandboxFixture.deleteQuietly(dataDir);
        }
    }

    @Test
    void aSecondOpenInTheSameProcessIsRefusedUntilTheFirstIsClosed() throws Exception {
        SandboxFixture.assumeRoot();
        try (SandboxFixture f = SandboxFixture.open()) {
            assertThatThrownBy(() -> Sandboxes.open(SandboxConfig.builder(f.dataDir).build()))
                    .isInstanceOf(SandboxException.class).hasMessageContaining("(pid " + ProcessHandle.current().pid()
                            + ") is using the data directory " + f.dataDir);
            f.sandboxes.close();
            try (Sandboxes again = Sandboxes.open(SandboxConfig.builder(f.dataDir).build())) {
                assertThat(again.swept().isEmpty()).isTrue();
                assertThat(again.swept()).hasToString("nothing left by an earlier node");
            }
        }
    }

    /** @return whether {@code pid} runs (a zombie waiting for its parent does not) */
    private static boolean alive(long pid) {
        try {
            return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream().noneMatch(l -> l.startsWith("State:\tZ"));
        } catch (java.io.IOException e) {
            return false; // no such process
        }
    }
}
