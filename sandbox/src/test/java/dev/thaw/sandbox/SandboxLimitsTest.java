package dev.thaw.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The cgroup limits: memory for the whole instance, processes; the node's own JVM is not touched. */
class SandboxLimitsTest {

    @Test
    void aFunctionThatOutgrowsItsMemoryIsKilledInsideItsOwnCgroup() throws Exception {
        try (SandboxFixture f = SandboxFixture.open()) {
            assumeTrue(Cgroups.detect().of(Cgroups.Controller.MEMORY).isPresent(), "no memory cgroup controller here");
            InstanceSandbox box = f.create("oom", 128);
            ProbeInstance p = f.boot(box, 512); // a heap bound above the instance's memory: the cgroup stops it first
            assertThat(box.oomKills()).isZero();
            box.resetMemoryPeak();
            assertThat(p.ask("alloc 16")).isEqualTo("ok 16");
            assertThat(box.memoryPeakBytes()).as("the JVM and 16 MB of arrays").isBetween(20L << 20, 128L << 20);
            byte[] nodeSide = new byte[256 << 20]; // this JVM allocates more than the instance may, unhindered
            nodeSide[nodeSide.length - 1] = 1;
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    p.ask("alloc 400");
                } catch (AssertionError e) {
                    // the answer never comes
                }
            });
            assertThat(p.supervisor.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.supervisor.exitValue()).as("pid 1 killed by SIGKILL").isEqualTo(128 + 9);
            assertThat(box.oomKills()).isGreaterThanOrEqualTo(1);
            assertThat(box.memoryPeakBytes()).isBetween(100L << 20, 129L << 20);
            assertThat(box.processes()).isEmpty();
            assertThat(nodeSide[nodeSide.length - 1]).isEqualTo((byte) 1);
        }
    }

    @Test
    void theMemoryPeakIsResetAndReadAgainThroughTheDescriptorKeptOpen() throws Exception {
        try (SandboxFixture f = SandboxFixture.open()) {
            assumeTrue(Cgroups.detect().of(Cgroups.Controller.MEMORY).isPresent(), "no memory cgroup controller here");
            InstanceSandbox box = f.create("peak", 256);
            ProbeInstance p = f.boot(box, 64);
            box.resetMemoryPeak();
            long before = box.memoryPeakBytes();
            // 6 MB in the instance's /tmp (8 MB here), charged to its cgroup, then freed: the peak keeps them
            assertThat(p.ask("sh head -c 6291456 /dev/zero > /tmp/peak && rm /tmp/peak")).startsWith("exit 0");
            long spiked = box.memoryPeakBytes();
            assertThat(spiked).as("the peak after 6 MB came and went").isGreaterThan(before + (4L << 20));
            for (int i = 0; i < 3; i++) {   // every reset and read goes through the same descriptor
                box.resetMemoryPeak();
                assertThat(box.memoryPeakBytes()).as("the peak after reset %d", i).isLessThan(spiked - (4L << 20));
            }
        }
    }

    @Test
    void theInstancesTogetherWeighTwoThreadsPerCoreAgainstTheNodesOwn() throws Exception {
        try (SandboxFixture f = SandboxFixture.open()) {
            var cpu = Cgroups.detect().of(Cgroups.Controller.CPU);
            assumeTrue(cpu.isPresent(), "no cpu cgroup controller here");
            InstanceSandbox box = f.create("weight", 1769);
            ProbeInstance p = f.boot(box, 64);
            String controller = cpu.get().v2() ? "0::" : ":cpu";
            String own = Files.readAllLines(Path.of("/proc/" + p.pid() + "/cgroup")).stream()
                    .filter(l -> cpu.get().v2() ? l.startsWith(controller) : l.matches("\\d+:[^:]*\\bcpu\\b[^:]*:.*"))
                    .findFirst().orElseThrow().split(":", 3)[2].substring(1);
            Path instance = cpu.get().mount().resolve(own);
            Path top = instance.getParent().getParent(); // <top>/<node's key>/<instance>
            String file = cpu.get().v2() ? "cpu.weight" : "cpu.shares";
            int cores = Runtime.getRuntime().availableProcessors();
            assertThat(Long.parseLong(Files.readString(top.resolve(file)).strip())).as("all instances, against the node's threads")
                    .isEqualTo(cpu.get().v2() ? Cgroups.instancesWeight(cores) : Cgroups.instancesShares(cores))
                    .isEqualTo(cpu.get().v2() ? Math.min(10_000, 200L * cores) : 2048L * cores);
            assertThat(Long.parseLong(Files.readString(instance.resolve(file)).strip())).as("one CPU's weight at 1,769 MB, as on Lambda")
                    .isEqualTo(cpu.get().v2() ? 100 : 1024);
            assertThat(Long.parseLong(Files.readString(instance.getParent().resolve(file)).strip())).as("the node's own, as every node's")
                    .isEqualTo(cpu.get().v2() ? 100 : 1024);
        }
    }

    @Test
    void aForkBombStopsAtPidsMax() throws Exception {
        try (SandboxFixture f = SandboxFixture.open(b -> b.pidsMax(64))) {
            assumeTrue(Cgroups.detect().of(Cgroups.Controller.PIDS).isPresent(), "no pids cgroup controller here");
            InstanceSandbox box = f.create("forks", 256);
            ProbeInstance p = f.boot(box, 96);
            long pid = p.pid();
            // the sleeps do not hold the shell's output open: the probe answers when the shell ends, not 60 s later
            String answer = p.ask("sh i=0; while [ $i -lt 200 ]; do sleep 60 >/dev/null 2>&1 & i=$((i+1)); done");
            // the shell's fork fails before the 200th, or the JVM cannot start the thread that waits for the shell
            assertThat(answer).containsAnyOf("Cannot fork", "unable to create native thread");
            Path pids = Path.of("/sys/fs/cgroup/pids").resolve(Files.readAllLines(Path.of("/proc/" + pid + "/cgroup")).stream()
                    .filter(l -> l.contains(":pids:")).findFirst().orElseThrow().split(":", 3)[2].substring(1));
            assertThat(Long.parseLong(Files.readString(pids.resolve("pids.current")).strip())).isLessThanOrEqualTo(64);
            assertThat(Files.readString(pids.resolve("pids.events"))).matches("(?s)max [1-9]\\d*\\s*");
            assertThat(box.processes().size()).isLessThanOrEqualTo(64);
            // the node still starts processes
            Process p2 = new ProcessBuilder("/bin/true").start();
            assertThat(p2.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(p2.exitValue()).isZero();
            box.close();
            assertThat(box.processes()).isEmpty();
            assertThat(pids).doesNotExist();
        }
    }
}
