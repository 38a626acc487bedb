package dev.thaw.sandbox;

import dev.thaw.criu.Criu;
import dev.thaw.linux.Libc;
import dev.thaw.linux.NativeSpawn;
import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A {@link SandboxProbe} started the way a node starts instances: its standard streams are pipes
 * this process owns, its supervisor the launcher (boot) or CRIU (restore), spawned from the
 * long-lived spawner thread.
 */
final class ProbeInstance implements AutoCloseable {
    private final String name;
    private final java.util.Optional<InstanceSandbox> box;
    final Process supervisor;
    private final OutputStream stdin;
    private final BlockingQueue<String> answers = new LinkedBlockingQueue<>();
    private final List<String> output = Collections.synchronizedList(new ArrayList<>());
    private final Path pidFile;

    private ProbeInstance(String name, java.util.Optional<InstanceSandbox> box, Process supervisor, int stdinWrite, int stdoutRead,
                          Path pidFile) throws IOException {
        this.name = name;
        this.box = box;
        this.supervisor = supervisor;
        this.pidFile = pidFile;
        this.stdin = new FileOutputStream(fd(stdinWrite).toFile());
        FileInputStream out = new FileInputStream(fd(stdoutRead).toFile());
        Libc.close(stdinWrite);
        Libc.close(stdoutRead);
        Thread.ofPlatform().daemon().name("probe-out-" + name).start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(out, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.startsWith("= ")) {
                        answers.add(line.substring(2));
                    } else {
                        output.add(line);
                    }
                }
            } catch (IOException e) {
                output.add("(read failed: " + e + ")");
            }
        });
    }

    private static Path fd(int fd) {
        return Path.of("/proc/self/fd/" + fd);
    }

    static ProbeInstance boot(InstanceSandbox box, List<String> program) throws IOException {
        int[] in = Libc.pipe2(Libc.O_CLOEXEC);
        int[] out = Libc.pipe2(Libc.O_CLOEXEC);
        try {
            Process p = NativeSpawn.spawner().spawn(box.boot(program, SandboxConfig.CODE_INSIDE).spawnRequest()
                    .environment(SandboxFixture.ENV).stdin(fd(in[0])).stdout(fd(out[1])).stderr(fd(out[1])).build());
            return new ProbeInstance(box.id(), java.util.Optional.of(box), p, in[1], out[0], null);
        } finally {
            Libc.close(in[0]);
            Libc.close(out[1]);
        }
    }

    static ProbeInstance restore(Criu criu, InstanceSandbox box, Path images, Path work, List<String> pipes) throws IOException {
        return restore(criu, box.id(), java.util.Optional.of(box), box.restoreWrapper(), images, work, pipes);
    }

    /** A restore through {@code wrapper}: {@link Criu.Wrapper#none()} restores the way the node does without a sandbox. */
    static ProbeInstance restore(Criu criu, String name, java.util.Optional<InstanceSandbox> box, Criu.Wrapper wrapper, Path images,
                                 Path work, List<String> pipes) throws IOException {
        int[] in = Libc.pipe2(Libc.O_CLOEXEC);
        int[] out = Libc.pipe2(Libc.O_CLOEXEC);
        try {
            Criu.RestoreRequest request = new Criu.RestoreRequest(images, work, fd(in[0]), fd(out[1]), pipes);
            Process p = criu.startRestore(request, wrapper);
            return new ProbeInstance(name, box, p, in[1], out[0], request.pidFile());
        } finally {
            Libc.close(in[0]);
            Libc.close(out[1]);
        }
    }

    /**
     * Parks a restore launcher in {@code box} with fresh pipes; {@link #startParked} hands it CRIU's
     * command line.
     */
    static ProbeInstance park(InstanceSandbox box, Path work) throws IOException {
        return park(box, work, List.of());
    }

    /** As {@link #park(InstanceSandbox, Path)}, with CRIU started ahead when {@code criuAhead} names its program. */
    static ProbeInstance park(InstanceSandbox box, Path work, List<String> criuAhead) throws IOException {
        int[] in = Libc.pipe2(Libc.O_CLOEXEC);
        int[] out = Libc.pipe2(Libc.O_CLOEXEC);
        try {
            Files.createDirectories(work);
            ParkedRestore parked = box.parkRestore(fd(in[0]), fd(out[1]), work.resolve("criu.stderr"), criuAhead);
            ProbeInstance p = new ProbeInstance(box.id(), java.util.Optional.of(box), parked.process(), in[1], out[0],
                    work.resolve("restored.pid"));
            p.parked = parked;
            return p;
        } finally {
            Libc.close(in[0]);
            Libc.close(out[1]);
        }
    }

    private ParkedRestore parked;

    /** Starts a parked restore of {@code images}, its work directory the one given to {@link #park}. */
    void startParked(Criu criu, Path images, List<String> pipes) {
        // the streams are the parked launcher's already: restoreCommand does not use the request's
        Path none = Path.of("/dev/null");
        Criu.RestoreRequest request = new Criu.RestoreRequest(images, pidFile.getParent(), none, none, pipes);
        parked.start(criu.restoreCommand(request, box.orElseThrow().restoreWrapper().options()));
    }

    /** Wraps a process started elsewhere, whose stdin and stdout are the other ends of these pipe ends. */
    static ProbeInstance attach(String name, Process supervisor, int stdinWrite, int stdoutRead) throws IOException {
        return new ProbeInstance(name, java.util.Optional.empty(), supervisor, stdinWrite, stdoutRead, null);
    }

    void awaitReady() {
        String first = next(60);
        if (!"ready".equals(first)) {
            throw new AssertionError("the probe did not start: " + first + "; output: " + output());
        }
    }

    /** Waits for a restore's pid file; fails with CRIU's complaint when CRIU exits first. */
    long awaitRestored() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(pidFile) || Files.size(pidFile) == 0) {
            if (!supervisor.isAlive() || System.nanoTime() > deadline) {
                Path log = pidFile.resolveSibling("restore.log");
                String tail = Files.exists(log) ? String.join("\n", Files.readAllLines(log).stream()
                        .filter(l -> l.contains("Error")).toList()) : "(no log)";
                String err = Files.exists(pidFile.resolveSibling("criu.stderr")) ? Files.readString(pidFile.resolveSibling("criu.stderr")) : "";
                throw new AssertionError("restore failed (" + (supervisor.isAlive() ? "timeout" : "exit " + supervisor.exitValue())
                        + "): " + tail + " " + err);
            }
            Thread.sleep(2);
        }
        return Long.parseLong(Files.readString(pidFile).strip());
    }

    /** Sends a command, returns its answer. */
    String ask(String command) {
        try {
            stdin.write((command + "\n").getBytes(StandardCharsets.UTF_8));
            stdin.flush();
        } catch (IOException e) {
            throw new AssertionError("the probe is gone (" + e.getMessage() + "); output: " + output(), e);
        }
        return next(60);
    }

    private String next(int seconds) {
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            String answer = null;
            int afterExit = 0;
            while (answer == null && System.nanoTime() < deadline && afterExit < 20) {
                answer = answers.poll(50, TimeUnit.MILLISECONDS);
                if (!supervisor.isAlive()) {
                    afterExit++; // a last answer may still be in the pipe
                }
            }
            if (answer == null) {
                throw new AssertionError("no answer from the probe within " + seconds + " s; supervisor "
                        + (supervisor.isAlive() ? "alive" : "exited " + supervisor.exitValue()) + "; output: " + output());
            }
            return answer;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** @return the instance's pid 1 (host pid) */
    long pid() {
        InstanceSandbox box = this.box.orElseThrow();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            var pid = box.initPid();
            if (pid.isPresent()) {
                return pid.get();
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        throw new AssertionError("no pid 1 in " + box.processes());
    }

    /** @return the {@code pipe:[inode]} names of pid 1's fds 0 and 1, which a dump records */
    List<String> pipeNames() throws IOException {
        long pid = pid();
        return List.of(Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/0")).toString(),
                Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/1")).toString());
    }

    List<String> output() {
        synchronized (output) {
            return List.copyOf(output);
        }
    }

    @Override
    public void close() {
        if (parked != null) {
            parked.close();
        }
        try {
            stdin.close();
        } catch (IOException e) {
            // gone already
        }
        supervisor.destroyForcibly();
    }
}
