package dev.thaw.node.instance;

import dev.thaw.core.FileTrees;
import dev.thaw.sandbox.ParkedRestore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/*
 * A spare sandbox's restore launcher, started ahead: it has joined the sandbox's network namespace
 * and cgroups, made its mount namespace and staged the mounts CRIU will bind, and waits for CRIU's
 * command line with the restore's stdin and stdout pipes already its own. A restore that takes the
 * spare hands it the command line (a write to a pipe) instead of spawning the launcher from the
 * node's JVM, which costs the restore the spawn, the launcher's exec and its setup. The pipes are
 * the node's for the instance's life, as a spawned restore's are.
 */
/** A restore launcher parked in a spare sandbox, with the restore's pipes (see the comment above). */
final class ParkedLaunch implements AutoCloseable {
    private final ParkedRestore restore;
    private final Pipe stdin;
    private final Pipe stdout;
    private final Path workDir;
    private final AtomicBoolean claimed = new AtomicBoolean();

    private ParkedLaunch(ParkedRestore restore, Pipe stdin, Pipe stdout, Path workDir) {
        this.restore = restore;
        this.stdin = stdin;
        this.stdout = stdout;
        this.workDir = workDir;
    }

    /**
     * Parks a restore launcher in {@code box}'s sandbox, its stderr in {@code workDir} as a spawned
     * restore's is, and CRIU started ahead in it when {@code criuAhead} names CRIU's program.
     */
    static ParkedLaunch park(dev.thaw.sandbox.InstanceSandbox box, Path workDir, java.util.List<String> criuAhead)
            throws IOException {
        java.nio.file.Files.createDirectories(workDir);
        Pipe in = Pipe.open();
        Pipe out = null;
        try {
            out = Pipe.open();
            return new ParkedLaunch(box.parkRestore(in.readEnd(), out.writeEnd(), workDir.resolve("criu.stderr"), criuAhead), in, out,
                    workDir);
        } catch (IOException | RuntimeException e) {
            in.close();
            if (out != null) {
                out.close();
            }
            FileTrees.deleteQuietly(workDir);
            throw e;
        }
    }

    /** @return true for the one restore that uses it; every later call false */
    boolean claim() {
        return claimed.compareAndSet(false, true);
    }

    ParkedRestore restore() {
        return restore;
    }

    /** @return the pipe whose read end is the launcher's (and so CRIU's and the clone's) stdin */
    Pipe stdin() {
        return stdin;
    }

    /** @return the pipe whose write end is the launcher's stdout */
    Pipe stdout() {
        return stdout;
    }

    /** The restore that claimed it could not start it (the launcher is gone): cancels it, keeps the work directory. */
    void abandon() {
        restore.close();
        stdin.close();
        stdout.close();
    }

    /**
     * Cancels a launch no restore claimed (the launcher exits, its work directory goes); after a
     * claim, only closes the node's raw pipe descriptors, which the instance already reopened.
     */
    @Override
    public void close() {
        boolean unused = claim();
        if (unused) {
            restore.close();
        }
        stdin.close();
        stdout.close();
        if (unused) {
            FileTrees.deleteQuietly(workDir);
        }
    }
}
