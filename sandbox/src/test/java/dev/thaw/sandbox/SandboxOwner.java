package dev.thaw.sandbox;

import dev.thaw.criu.Criu;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A node in miniature, run as a JVM of its own by {@link NodeDeathTest}: opens the sandboxes of a
 * data directory, boots a probe, dumps it, restores a clone, prints the pids of all of them, then
 * waits to be killed.
 */
public final class SandboxOwner {
    private SandboxOwner() {
    }

    public static void main(String[] args) throws Exception {
        Path dataDir = Path.of(args[0]);
        Path criuPath = Path.of(args[1]);
        Sandboxes sandboxes = Sandboxes.open(SandboxConfig.builder(dataDir).build());
        Path code = SandboxFixture.codeDir(dataDir.resolve("functions/probe"));
        InstanceSandbox booted = sandboxes.create(new InstanceSpec("booted", "probe", 256, code, 8));
        ProbeInstance p = ProbeInstance.boot(booted, SandboxFixture.probeCommand(96));
        p.awaitReady();
        p.ask("text /tmp/note.txt from the booted instance");
        Criu criu = Criu.open(Criu.probe(Optional.of(criuPath)), criuPath);
        Path snapshot = dataDir.resolve("snapshot");
        criu.dump(p.pid(), snapshot.resolve("images"), snapshot.resolve("dump.log"), booted.dumpWrapper());
        booted.saveScratch(snapshot.resolve("scratch"));
        InstanceSandbox restored = sandboxes.create(new InstanceSpec("restored", "probe", 256, code, 8));
        restored.seedScratch(snapshot.resolve("scratch"));
        ProbeInstance clone = ProbeInstance.restore(criu, restored, snapshot.resolve("images"), snapshot.resolve("restore"), p.pipeNames());
        long clonePid = clone.awaitRestored();
        if (!clone.ask("read /tmp/note.txt").startsWith("ok")) {
            throw new AssertionError("the clone does not run");
        }
        StringBuilder pids = new StringBuilder("pids");
        booted.processes().forEach(pid -> pids.append(' ').append(pid));
        restored.processes().forEach(pid -> pids.append(' ').append(pid));
        System.out.println(pids + " clone " + clonePid);
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
