package dev.thaw.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.thaw.criu.Criu;
import dev.thaw.linux.Libc;
import dev.thaw.linux.NativeSpawn;
import dev.thaw.linux.SpawnRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What the sandbox costs a restore: the same small JVM (the probe), dumped once booted the way the
 * node boots instances today ({@code unshare --pid --fork --kill-child setsid java}) and once
 * booted in a sandbox, restored in rounds of three: without sandbox, through the sandbox's wrapper
 * (the launcher spawned at the restore), through a launcher parked ahead of the restore. Printed,
 * not asserted (the node's budget is 10 % on a restore's median). Runs with
 * {@code -Dthaw.sandbox.timing=true} (optionally {@code -Dthaw.sandbox.timing.pairs=N} rounds,
 * default 10, and {@code -Dthaw.sandbox.timing.allocMb=M}: the JVM holds M MB more in its image).
 */
class RestoreTimingTest {

    @Test
    void restoreWithAndWithoutTheSandbox() throws Exception {
        assumeTrue(Boolean.getBoolean("thaw.sandbox.timing"), "timing runs with -Dthaw.sandbox.timing=true");
        Criu criu = SandboxFixture.assumeCriu();
        int pairs = Integer.getInteger("thaw.sandbox.timing.pairs", 10);
        int allocMb = Integer.getInteger("thaw.sandbox.timing.allocMb", 0); // a bigger image: arrays held by the JVM
        try (SandboxFixture f = SandboxFixture.open()) {
            // the image of a plain instance
            Path plain = f.dataDir.resolve("plain");
            List<String> command = new ArrayList<>(List.of("/usr/bin/unshare", "--pid", "--fork", "--kill-child", "/usr/bin/setsid"));
            command.addAll(SandboxFixture.probeCommand(96 + allocMb));
            command.set(command.indexOf(SandboxConfig.CODE_INSIDE), f.code.toString());
            ProbeInstance original = plainBoot(f, command);
            if (allocMb > 0) {
                assertThat(original.ask("alloc " + allocMb)).isEqualTo("ok " + allocMb);
            }
            long plainPid = original.supervisor.toHandle().children().findFirst().orElseThrow().pid(); // unshare's child: java
            Criu.DumpResult plainDump = criu.dump(plainPid, plain.resolve("images"), plain.resolve("dump.log"));
            List<String> plainPipes = pipeNames(plainPid);
            original.close();

            // the image of a sandboxed instance
            Path boxed = f.dataDir.resolve("sandboxed");
            InstanceSandbox box = f.create("timing-original", 256 + allocMb);
            box.openListener(9001);
            ProbeInstance p = f.boot(box, 96 + allocMb);
            if (allocMb > 0) {
                assertThat(p.ask("alloc " + allocMb)).isEqualTo("ok " + allocMb);
            }
            Criu.DumpResult boxedDump = criu.dump(p.pid(), boxed.resolve("images"), boxed.resolve("dump.log"), box.dumpWrapper());
            box.saveScratch(boxed.resolve("scratch"));
            List<String> boxedPipes = p.pipeNames();
            box.close();
            System.out.printf("images: plain %.1f MB (dump %d ms), sandboxed %.1f MB (dump %d ms)%n", plainDump.imageBytes() / 1e6,
                    plainDump.duration().toMillis(), boxedDump.imageBytes() / 1e6, boxedDump.duration().toMillis());

            List<Double> plainRestore = new ArrayList<>();
            List<Double> plainAnswer = new ArrayList<>();
            List<Double> boxedRestore = new ArrayList<>();
            List<Double> boxedAnswer = new ArrayList<>();
            List<Double> parkedRestore = new ArrayList<>();
            List<Double> parkedAnswer = new ArrayList<>();
            List<Double> boxedCreate = new ArrayList<>();
            List<Double> boxedClose = new ArrayList<>();
            for (int i = 0; i < pairs; i++) {
                for (int turn = 0; turn < 3; turn++) {
                    int variant = (turn + i) % 3; // each variant first, second and third in turn
                    if (variant == 0) {
                        Path work = plain.resolve("restore-" + i);
                        long start = System.nanoTime();
                        ProbeInstance clone = ProbeInstance.restore(criu, "plain-" + i, java.util.Optional.empty(), Criu.Wrapper.none(),
                                plain.resolve("images"), work, plainPipes);
                        clone.awaitRestored();
                        plainRestore.add(ms(start));
                        assertThat(clone.ask("pid")).isEqualTo("1");
                        plainAnswer.add(ms(start));
                        clone.close();
                        clone.supervisor.waitFor();
                    } else {
                        boolean park = variant == 2;
                        long start = System.nanoTime();
                        InstanceSandbox cloneBox = f.sandboxes.create(new InstanceSpec("timing-" + i + "-" + variant, "probe", 256 + allocMb, f.code, 8));
                        cloneBox.openListener(9001);
                        cloneBox.seedScratch(boxed.resolve("scratch"));
                        Path work = boxed.resolve("restore-" + i + "-" + variant);
                        ProbeInstance parked = park ? ProbeInstance.park(cloneBox, work) : null;
                        boxedCreate.add(ms(start));
                        Thread.sleep(50); // a parked launcher is parked ahead of its restore
                        long restore = System.nanoTime();
                        ProbeInstance clone;
                        if (park) {
                            clone = parked;
                            clone.startParked(criu, boxed.resolve("images"), boxedPipes);
                        } else {
                            clone = ProbeInstance.restore(criu, cloneBox, boxed.resolve("images"), work, boxedPipes);
                        }
                        clone.awaitRestored();
                        (park ? parkedRestore : boxedRestore).add(ms(restore));
                        assertThat(clone.ask("pid")).isEqualTo("1");
                        (park ? parkedAnswer : boxedAnswer).add(ms(restore));
                        clone.close();
                        long close = System.nanoTime();
                        cloneBox.close();
                        boxedClose.add(ms(close));
                    }
                    Thread.sleep(200); // let the machine settle between restores
                }
            }
            System.out.printf("restore of the probe JVM, %d rounds of the three in rotating order, median [min-max] ms (load average %s)%n",
                    pairs, Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
            System.out.printf("  without sandbox:          to pid file %s, to first answer %s%n", stats(plainRestore), stats(plainAnswer));
            System.out.printf("  sandbox, launcher spawned: to pid file %s, to first answer %s%n", stats(boxedRestore), stats(boxedAnswer));
            System.out.printf("  sandbox, launcher parked:  to pid file %s, to first answer %s%n", stats(parkedRestore), stats(parkedAnswer));
            System.out.printf("  sandbox made before the restore (cgroup, network namespace, listener, scratch mount and seed, parking) %s;"
                    + " close %s%n", stats(boxedCreate), stats(boxedClose));
            System.out.printf("  on the median, to pid file: spawned %+.1f %%, parked %+.1f %%; to first answer: spawned %+.1f %%, parked %+.1f %%%n",
                    100 * (median(boxedRestore) / median(plainRestore) - 1), 100 * (median(parkedRestore) / median(plainRestore) - 1),
                    100 * (median(boxedAnswer) / median(plainAnswer) - 1), 100 * (median(parkedAnswer) / median(plainAnswer) - 1));
        }
    }

    private static ProbeInstance plainBoot(SandboxFixture f, List<String> command) throws Exception {
        int[] in = Libc.pipe2(Libc.O_CLOEXEC);
        int[] out = Libc.pipe2(Libc.O_CLOEXEC);
        try {
            Process p = NativeSpawn.spawner().spawn(SpawnRequest.builder(command).environment(SandboxFixture.ENV)
                    .stdin(Path.of("/proc/self/fd/" + in[0])).stdout(Path.of("/proc/self/fd/" + out[1]))
                    .stderr(Path.of("/proc/self/fd/" + out[1])).build());
            ProbeInstance instance = ProbeInstance.attach("plain", p, in[1], out[0]);
            f.track(instance);
            instance.awaitReady();
            return instance;
        } finally {
            Libc.close(in[0]);
            Libc.close(out[1]);
        }
    }

    private static List<String> pipeNames(long pid) throws Exception {
        return List.of(Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/0")).toString(),
                Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/1")).toString());
    }

    private static double ms(long start) {
        return (System.nanoTime() - start) / 1e6;
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    private static String stats(List<Double> values) {
        return String.format("%.1f [%.1f-%.1f]", median(values), values.stream().mapToDouble(d -> d).min().orElse(0),
                values.stream().mapToDouble(d -> d).max().orElse(0));
    }
}
