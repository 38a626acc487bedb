package dev.thaw.cli;

import dev.thaw.bench.BareRestore;
import dev.thaw.core.FileTrees;
import dev.thaw.criu.Criu;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code criu restore -d} of a working copy with the options a node without sandboxes uses
 * ({@code --tcp-close}, the dumped process's stdin and stdout pipes given back as this restore's own
 * pipes), started as the node starts CRIU (its launcher's own command line, no shell): no thaw code
 * between the spawn and CRIU's exit. The restored process, which then waits on its stdin for a
 * resume line that never comes, is killed.
 */
final class BareCriuRestore implements BareRestore {
    private static final long TIMEOUT_S = 60;
    private final List<String> criu;

    BareCriuRestore(Path launcher) {
        this.criu = Criu.commandLine(launcher);
    }

    @Override
    public double restoreMillis(Path images, String stdinPipe, String stdoutPipe) throws IOException {
        Path work = Files.createTempDirectory("thaw-bare-restore-");
        Path pidFile = work.resolve("restored.pid");
        Path log = work.resolve("restore.log");
        List<String> cmd = new ArrayList<>(criu);
        cmd.addAll(List.of("restore", "-D", images.toString(), "-W", work.toString(), "-o", log.toString(), "-v2",
                "--tcp-close", "--pidfile", pidFile.toString(), "--restore-detached", "--inherit-fd", "fd[0]:" + stdinPipe));
        if (!stdoutPipe.equals(stdinPipe)) {
            cmd.addAll(List.of("--inherit-fd", "fd[1]:" + stdoutPipe));
        }
        try {
            long start = System.nanoTime();
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(TIMEOUT_S, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("criu restore of " + images + " did not end within " + TIMEOUT_S + " s");
            }
            double ms = (System.nanoTime() - start) / 1e6;
            p.getOutputStream().close();
            p.getInputStream().close();
            if (p.exitValue() != 0) {
                throw new IOException("criu restore of " + images + " exited with " + p.exitValue() + ": " + tail(log));
            }
            long pid = Long.parseLong(Files.readString(pidFile, StandardCharsets.US_ASCII).strip());
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            return ms;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted during a bare criu restore", e);
        } finally {
            FileTrees.deleteQuietly(work);
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }
}
