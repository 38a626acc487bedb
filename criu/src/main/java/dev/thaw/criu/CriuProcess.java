package dev.thaw.criu;

import dev.thaw.linux.NativeSpawn;
import dev.thaw.linux.SpawnRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs the {@code criu} executable for each operation.
 *
 * <p>Options chosen for instances (see shared/design/CRIU.md): {@code --tcp-close} on dump and
 * restore, because a TCP connection a function left open cannot be shared by several clones in one
 * network namespace (the runtime closes its own before the dump); {@code --leave-running} on dump,
 * because the booted instance goes on to serve the invocation that started it; no
 * {@code --auto-dedup}, because restore would punch holes into an image that clones share; and
 * {@code --inherit-fd} for the standard streams, so every clone writes to a pipe of its own.
 */
final class CriuProcess implements Criu {
    private static final Duration DUMP_TIMEOUT = Duration.ofMinutes(2);

    /** What runs CRIU: the launcher, or what it execs ({@link #command}). */
    private final List<String> command;

    CriuProcess(Path launcher) {
        this.command = command(launcher);
    }

    /**
     * The launcher's own command line when install-criu.sh wrote it beside the launcher
     * ({@code criu.argv}, one argument a line: the unpacked dynamic loader, its library path, the
     * binary): started directly, a restore skips the shell the launcher is (~3.5 ms of every
     * restore's start on this project's VMs, an exec and a shell's page faults). Else the launcher.
     */
    static List<String> command(Path launcher) {
        Path argv = launcher.resolveSibling(launcher.getFileName() + ".argv");
        try {
            List<String> lines = Files.readAllLines(argv, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).toList();
            if (!lines.isEmpty() && Files.isExecutable(Path.of(lines.getFirst()))) {
                return lines;
            }
        } catch (IOException e) {
            // no such file (another launcher): run the launcher itself
        }
        return List.of(launcher.toString());
    }

    @Override
    public DumpResult dump(long pid, Path imagesDir, Path logFile, Wrapper wrapper) {
        List<String> cmd = new ArrayList<>(wrapper.command());
        cmd.addAll(command);
        cmd.addAll(List.of("dump", "-t", Long.toString(pid), "-D", imagesDir.toString(),
                "-o", logFile.toString(), "-v2", "--tcp-close", "--leave-running"));
        cmd.addAll(wrapper.options());
        long start = System.nanoTime();
        try {
            Files.createDirectories(imagesDir);
            Path out = logFile.resolveSibling(logFile.getFileName() + ".out");
            Process p = wrapper.isNone()
                    ? new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile())).start()
                    : NativeSpawn.spawner().spawn(SpawnRequest.builder(cmd).stderr(out) // CRIU itself writes to its log
                            .descriptors(wrapper.descriptors()).build());
            if (!p.waitFor(DUMP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new SnapshotException("criu dump of pid " + pid + " did not finish within " + DUMP_TIMEOUT, null);
            }
            if (p.exitValue() != 0) {
                throw new SnapshotException("criu dump of pid " + pid + " failed (exit " + p.exitValue() + "): "
                        + (Files.exists(logFile) ? errorLines(logFile) : wrapperOutput(out)), null);
            }
        } catch (IOException e) {
            throw new SnapshotException("cannot run criu dump: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SnapshotException("interrupted during criu dump", e);
        }
        return new DumpResult(Duration.ofNanos(System.nanoTime() - start), sizeOf(imagesDir));
    }

    @Override
    public List<String> programStartableAhead() {
        return startsAhead(command).isEmpty() ? command : List.of();
    }

    /**
     * Whether CRIU run by {@code command} can be started ahead: the loader must preload thaw's
     * library, and the library must be there (the loader ignores a missing one with a warning, and
     * CRIU would then run its {@code main()} at once instead of waiting for its command line).
     *
     * @return empty when it can, else why not, in words a user can act on
     */
    static java.util.Optional<String> startsAhead(List<String> command) {
        int at = command.indexOf("--preload");
        if (at < 0 || at + 1 >= command.size() || !command.get(at + 1).contains("thaw-criu-preload")) {
            return java.util.Optional.of("CRIU's command line preloads no thaw-criu-preload library"
                    + " (scripts/install-criu.sh builds it with gcc and writes it into criu.argv)");
        }
        Path library = Path.of(command.get(at + 1));
        if (!Files.isReadable(library)) {
            return java.util.Optional.of("its preload library " + library + " is missing (run scripts/install-criu.sh again)");
        }
        return java.util.Optional.empty();
    }

    @Override
    public List<String> restoreCommand(RestoreRequest r, List<String> extraOptions) {
        List<String> cmd = new ArrayList<>(command);
        cmd.addAll(List.of("restore", "-D", r.imagesDir().toString(),
                "-W", r.workDir().toString(), "-o", r.logFile().toString(), "-v2", "--tcp-close",
                "--pidfile", r.pidFile().toString()));
        cmd.addAll(List.of("--inherit-fd", "fd[0]:" + r.inheritedPipes().get(0)));
        if (!r.inheritedPipes().get(1).equals(r.inheritedPipes().get(0))) {
            cmd.addAll(List.of("--inherit-fd", "fd[1]:" + r.inheritedPipes().get(1)));
        }
        if (r.lazyPages()) {
            cmd.add("--lazy-pages");
        }
        cmd.addAll(extraOptions);
        try {
            Files.createDirectories(r.workDir());
        } catch (IOException e) {
            throw new SnapshotException("cannot create the restore's work directory " + r.workDir() + ": " + e.getMessage(), e);
        }
        return cmd;
    }

    @Override
    public Process startRestore(RestoreRequest r, Wrapper wrapper) {
        List<String> cmd = new ArrayList<>(wrapper.command());
        cmd.addAll(restoreCommand(r, wrapper.options()));
        try {
            Files.createDirectories(r.workDir());
            Path stderr = r.workDir().resolve("criu.stderr");
            if (!wrapper.isNone()) {
                return NativeSpawn.spawner().spawn(SpawnRequest.builder(cmd).stdin(r.stdin()).stdout(r.stdout())
                        .stderr(stderr).descriptors(wrapper.descriptors()).build());
            }
            if (NativeSpawn.available()) {
                return NativeSpawn.spawn(cmd, r.stdin(), r.stdout(), stderr); // on every restore's critical path
            }
            return new ProcessBuilder(cmd)
                    .redirectInput(r.stdin().toFile())
                    .redirectOutput(r.stdout().toFile())
                    .redirectError(stderr.toFile())
                    .start();
        } catch (IOException e) {
            throw new SnapshotException("cannot start criu restore: " + e.getMessage(), e);
        }
    }

    /**
     * @return the error lines of a CRIU log (those CRIU marks "Error"), or its last lines, to say
     *     why an operation failed
     */
    static String errorLines(Path logFile) {
        try {
            List<String> lines = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            // CRIU always complains that it cannot raise its own RLIMIT_NOFILE here; it is harmless noise.
            List<String> errors = lines.stream().filter(l -> l.contains("Error") || l.contains("error"))
                    .filter(l -> !l.contains("RLIMIT_NOFILE")).toList();
            List<String> pick = errors.isEmpty() ? lines : errors;
            return String.join(" | ", pick.subList(Math.max(0, pick.size() - 4), pick.size())).strip();
        } catch (IOException | UncheckedIOException e) {
            return "(no CRIU log at " + logFile + ")";
        }
    }

    /** @return what a wrapper that failed before CRIU ran printed (its one line), or that there was nothing */
    private static String wrapperOutput(Path out) {
        try {
            String text = Files.readString(out, StandardCharsets.UTF_8).strip();
            return text.isEmpty() ? "no CRIU log and no output" : CriuProbe.lastLines(text, 3);
        } catch (IOException e) {
            return "no CRIU log and no output";
        }
    }

    static long sizeOf(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        } catch (IOException e) {
            return 0;
        }
    }
}
