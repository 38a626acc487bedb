package dev.thaw.criu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Decides whether CRIU can work here, and says plainly why not. */
final class CriuProbe {
    private static final String INSTALL_HINT = "run scripts/install-criu.sh";

    private CriuProbe() {
    }

    static CriuStatus probe(Optional<Path> launcher) {
        if (launcher.isEmpty()) {
            return CriuStatus.unavailable("snapshots are off: no CRIU configured (" + INSTALL_HINT + ")");
        }
        Path criu = launcher.get();
        if (!Files.isExecutable(criu)) {
            return CriuStatus.unavailable("snapshots are off: CRIU not found at " + criu + " (" + INSTALL_HINT + ")");
        }
        if (!isRoot()) {
            return CriuStatus.unavailable("snapshots are off: CRIU needs root (or CAP_CHECKPOINT_RESTORE and "
                    + "CAP_SYS_PTRACE), and this node runs as an unprivileged user");
        }
        Result version = run(criu, "--version");
        if (version.exit != 0) {
            return CriuStatus.unavailable("snapshots are off: " + criu + " does not run: " + version.output.strip());
        }
        String v = version.output.lines().filter(l -> l.startsWith("Version:"))
                .map(l -> l.substring("Version:".length()).strip()).findFirst().orElse("unknown");
        Result check = run(criu, "check");
        if (check.exit != 0) {
            return CriuStatus.unavailable("snapshots are off: 'criu check' failed (kernel without checkpoint/restore "
                    + "support?): " + lastLines(check.output, 3));
        }
        refreshKernelFeatureCache(criu);
        String ahead = CriuProcess.startsAhead(CriuProcess.command(criu))
                .map(why -> "; CRIU is not started ahead of restores: " + why)
                .orElse("; CRIU is started ahead of sandboxed restores");
        return new CriuStatus(true, Optional.of(v), "snapshots are on: CRIU " + v + " at " + criu + ahead);
    }

    /**
     * Runs {@code criu-kdat} beside the launcher (written by scripts/install-criu.sh): without the
     * cache it refreshes, every CRIU run re-probes the kernel, about 30-50 ms of each restore.
     * Refreshed at every node start, so a cache never survives a reboot into another kernel.
     */
    private static void refreshKernelFeatureCache(Path criu) {
        Path helper = criu.resolveSibling("criu-kdat");
        if (Files.isExecutable(helper)) {
            run(helper, null);
        }
    }

    static boolean isRoot() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("Uid:"))
                    .anyMatch(l -> l.split("\\s+")[2].equals("0"));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private record Result(int exit, String output) {
    }

    private static Result run(Path criu, String arg) {
        try {
            java.util.List<String> cmd = arg == null ? java.util.List.of(criu.toString()) : java.util.List.of(criu.toString(), arg);
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timed out");
            }
            return new Result(p.exitValue(), out);
        } catch (IOException e) {
            return new Result(-1, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted");
        }
    }

    static String lastLines(String text, int n) {
        var lines = text.strip().lines().toList();
        return String.join(" | ", lines.subList(Math.max(0, lines.size() - n), lines.size()));
    }
}
