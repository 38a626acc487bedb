package dev.thaw.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.criu.Criu;
import dev.thaw.linux.NetworkNamespace;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A sandboxed JVM dumped through its sandbox's options and restored as two clones at once, each in a sandbox of its own. */
class SandboxRestoreTest {

    @Test
    void twoClonesRestoredAtOnceRunEachInItsOwnSandboxWithTheOriginalsScratch() throws Exception {
        Criu criu = SandboxFixture.assumeCriu();
        try (SandboxFixture f = SandboxFixture.open()) {
            InstanceSandbox original = f.create("original", 256);
            ServerSocketChannel originalApi = original.openListener(9001);
            ProbeInstance p = f.boot(original, 96);
            assertThat(p.ask("text /tmp/before-dump.txt written before the dump")).isEqualTo("ok");
            assertThat(p.ask("hold /tmp/held.bin")).as("a file open at dump time: CRIU checks it on restore").isEqualTo("ok");
            var served = SandboxIsolationTest.serveOnce(originalApi);
            assertThat(p.ask("connect 9001")).isEqualTo("reply pong");
            served.get(10, TimeUnit.SECONDS);

            Path snapshot = f.dataDir.resolve("snapshot");
            Path images = snapshot.resolve("images");
            Criu.DumpResult dump = criu.dump(p.pid(), images, snapshot.resolve("dump.log"), original.dumpWrapper());
            assertThat(images.resolve("cgroup.img")).as("CRIU records the instance's own cgroups").exists();
            original.trimDump(images);
            try (var files = Files.list(images)) {
                assertThat(files.map(x -> x.getFileName().toString())).as("the launcher makes the ipc and uts namespaces,"
                        + " outside CRIU's view").noneMatch(n -> n.startsWith("utsns") || n.startsWith("ipcns"));
            }
            assertThat(images.resolve("cgroup.img")).as("which no restore here uses").doesNotExist();
            original.saveScratch(snapshot.resolve("scratch"));
            System.out.printf("sandboxed JVM dumped in %d ms, image %.1f MB%n", dump.duration().toMillis(), dump.imageBytes() / 1e6);
            assertThat(Files.readString(snapshot.resolve("scratch/before-dump.txt"))).isEqualTo("written before the dump");
            assertThat(Files.getAttribute(snapshot.resolve("scratch/before-dump.txt"), "unix:uid")).isEqualTo((int) original.identity().uid());
            List<String> pipes = p.pipeNames();

            // two clones, restored at once
            List<InstanceSandbox> boxes = new ArrayList<>();
            List<ServerSocketChannel> apis = new ArrayList<>();
            for (int i = 1; i <= 2; i++) {
                InstanceSandbox box = f.create("clone-" + i, 256);
                apis.add(box.openListener(9001));
                box.seedScratch(snapshot.resolve("scratch"));
                boxes.add(box);
            }
            List<ProbeInstance> clones = new ArrayList<>();
            // the first through the wrapper, the second through a launcher parked ahead of its restore
            clones.add(f.restore(boxes.get(0), images, snapshot.resolve("restore-1"), pipes));
            List<String> ahead = criu.programStartableAhead();
            assertThat(ahead).as("install-criu.sh preloads its library into CRIU").isNotEmpty();
            ProbeInstance parked = ProbeInstance.park(boxes.get(1), snapshot.resolve("restore-2"), ahead);
            f.track(parked);
            assertThat(awaitChildCommand(parked.supervisor.pid())).as("CRIU started ahead, waiting for its command line")
                    .contains(ahead.getLast());
            parked.startParked(criu, images, pipes);
            clones.add(parked);
            Set<Long> namespaces = new HashSet<>(List.of(original.networkNamespace()));
            for (int i = 0; i < 2; i++) {
                ProbeInstance clone = clones.get(i);
                InstanceSandbox box = boxes.get(i);
                long pid = clone.awaitRestored();
                assertThat(box.initPid()).contains(pid);
                System.out.printf("clone %d: its cgroup peaked at %.1f MB during the restore; CRIU, the clone's parent, holds %s%n",
                        i + 1, box.memoryPeakBytes() / 1e6, Files.readAllLines(Path.of("/proc/" + clone.supervisor.pid() + "/status"))
                                .stream().filter(l -> l.startsWith("VmRSS")).findFirst().orElse("?").replaceAll("\\s+", " "));
                assertThat(clone.ask("status")).contains("Uid=1000,1000,1000,1000", "Gid=1000,1000,1000,1000", "Groups= ",
                        "CapPrm=0000000000000000", "CapEff=0000000000000000", "CapBnd=0000000000000000", "CapAmb=0000000000000000",
                        "NoNewPrivs=1", "Seccomp=2", "cwd=/var/task");
                assertThat(Files.readString(Path.of("/proc/" + pid + "/status"))).contains("Uid:\t" + box.identity().uid());
                assertThat(Files.readString(Path.of("/proc/" + pid + "/cgroup"))).contains("memory:/thaw/" + NodeSandboxes.key(f.dataDir)
                        + "/clone-" + (i + 1) + "\n");
                assertThat(NetworkNamespace.inodeOf(pid)).isEqualTo(box.networkNamespace());
                for (String ns : List.of("ipc", "uts")) {
                    String own = Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/" + ns)).toString();
                    assertThat(own).as("the clone's %s namespace: the one its launcher made", ns)
                            .isEqualTo(Files.readSymbolicLink(Path.of("/proc/" + clone.supervisor.pid() + "/ns/" + ns)).toString())
                            .isNotEqualTo(Files.readSymbolicLink(Path.of("/proc/self/ns/" + ns)).toString())
                            .isNotEqualTo(Files.readSymbolicLink(Path.of("/proc/" + p.pid() + "/ns/" + ns)).toString());
                }
                namespaces.add(box.networkNamespace());
                assertThat(clone.ask("hostname")).isEqualTo("thaw");
                assertThat(clone.ask("read /tmp/before-dump.txt")).isEqualTo("ok 23 written before the dump");
                assertThat(clone.ask("read /tmp/held.bin")).isEqualTo("ok 4 held");
                assertThat(clone.ask("write /x 1")).contains("Read-only file system");
                assertThat(clone.ask("write /usr/x 1")).contains("Read-only file system");
                assertThat(clone.ask("sh echo gone > /dev/null && head -c 16 /dev/urandom | wc -c")).isEqualTo("exit 0 16");
                if (((NodeSandboxes) f.sandboxes).devicesInRoot) {
                    assertThat(clone.ask("sh cut -d' ' -f5 /proc/self/mountinfo | grep -c '^/dev\\|^/etc'")).isEqualTo("exit 1 0");
                }
                assertThat(clone.ask("list /proc").split(",")).filteredOn(e -> e.matches("\\d+")).containsExactly("1");
                assertThat(clone.ask("native unshare")).isEqualTo("rc=-1 errno=1");
                var answered = SandboxIsolationTest.serveOnce(apis.get(i));
                assertThat(clone.ask("connect 9001")).as("its own listener, in its own namespace").isEqualTo("reply pong");
                assertThat(answered.get(10, TimeUnit.SECONDS)).isEqualTo("ping");
                assertThat(clone.ask("text /tmp/only-here.txt clone " + (i + 1))).isEqualTo("ok");
                // CRIU stays in a mount namespace of its own while the clone runs: without any instance's scratch in it
                assertThat(Files.readAllLines(Path.of("/proc/" + clone.supervisor.pid() + "/mountinfo")))
                        .noneMatch(l -> l.contains(((NodeSandboxes) f.sandboxes).home.resolve("scratch").toString()));
            }
            assertThat(namespaces).as("three network namespaces").hasSize(3);
            // the original runs on, with its own scratch
            assertThat(p.ask("read /tmp/before-dump.txt")).isEqualTo("ok 23 written before the dump");
            assertThat(p.ask("list /tmp")).isEqualTo("before-dump.txt,held.bin");
            assertThat(clones.get(0).ask("list /tmp")).isEqualTo("before-dump.txt,held.bin,only-here.txt");
            // the restore launcher is the clone's parent (CRIU restored it as a sibling and left): it
            // exits with the clone's own status, 128 + SIGKILL here, where CRIU would have said 0
            ProbeInstance first = clones.get(0);
            long root = first.awaitRestored();
            assertThat(Files.readString(Path.of("/proc/" + root + "/status"))).contains("PPid:\t" + first.supervisor.pid());
            ProcessHandle.of(root).orElseThrow().destroyForcibly();
            assertThat(first.supervisor.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(first.supervisor.exitValue()).isEqualTo(137);
        }
    }

    /** @return the command line of {@code pid}'s first child, once it has exec'd (its command is no longer the parent's) */
    private static String awaitChildCommand(long pid) throws Exception {
        String parent = Files.readString(Path.of("/proc/" + pid + "/cmdline"));
        for (long end = System.nanoTime() + 10_000_000_000L; System.nanoTime() < end; Thread.sleep(10)) {
            String[] children = Files.readString(Path.of("/proc/" + pid + "/task/" + pid + "/children")).trim().split(" ");
            if (!children[0].isEmpty()) {
                String command = Files.readString(Path.of("/proc/" + children[0] + "/cmdline")).replace('\0', ' ');
                // empty while the child is in the middle of its exec: not CRIU's yet
                if (!command.isEmpty() && !command.equals(parent.replace('\0', ' '))) {
                    return command;
                }
            }
        }
        return "";
    }
}
