package dev.thaw.criu;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * thaw's handle on CRIU: dump a running process tree into an image directory, restore clones of
 * it. Obtained from {@link #probe(Optional)}, which only hands out a {@code Criu} that works.
 */
public interface Criu {

    /**
     * Finds and checks CRIU.
     *
     * @param launcher the CRIU executable (thaw's project-local launcher), empty if none was configured
     * @return the status; {@link #open(CriuStatus, Path)} turns an available one into a {@code Criu}
     */
    static CriuStatus probe(Optional<Path> launcher) {
        return CriuProbe.probe(launcher);
    }

    /**
     * @return true when this process runs as root: CRIU needs it, and so do the pid namespaces
     *     instances run in
     */
    static boolean runningAsRoot() {
        return CriuProbe.isRoot();
    }

    /**
     * @param launcher thaw's CRIU launcher
     * @return what a CRIU operation's command line starts with: the launcher's own command line
     *     when the install left it beside the launcher (started directly, without the launcher's
     *     shell), else the launcher
     */
    static java.util.List<String> commandLine(Path launcher) {
        return CriuProcess.command(launcher);
    }

    /**
     * @param status a status from {@link #probe(Optional)} that is available
     * @param launcher the same launcher
     * @return a CRIU driver
     */
    static Criu open(CriuStatus status, Path launcher) {
        if (!status.available()) {
            throw new IllegalStateException("CRIU is not available: " + status.reason());
        }
        return new CriuProcess(launcher);
    }

    /**
     * Dumps the process tree rooted at {@code pid}, leaving it running, with TCP connections
     * closed in the image.
     *
     * @param pid the root of the tree (the pid-namespace init of an instance)
     * @param imagesDir an empty directory for the image
     * @param logFile where CRIU writes its log
     * @return how long the dump took and how large the image is
     * @throws SnapshotException with the tail of CRIU's log when the dump fails
     */
    default DumpResult dump(long pid, Path imagesDir, Path logFile) {
        return dump(pid, imagesDir, logFile, Wrapper.none());
    }

    /**
     * Dumps as {@link #dump(long, Path, Path)} does, with CRIU run through {@code wrapper}'s
     * command (e.g. a launcher that enters the instance's network namespace first), given
     * {@code wrapper}'s extra options and descriptors. A wrapped dump is started from
     * {@link dev.thaw.linux.NativeSpawn#spawner()}'s thread, so a wrapper that arms a parent-death
     * signal is tied to the JVM's life, not to the calling thread's.
     *
     * @throws SnapshotException with the tail of CRIU's log when the dump fails
     */
    DumpResult dump(long pid, Path imagesDir, Path logFile, Wrapper wrapper);

    /**
     * Starts restoring a clone. The returned process is CRIU itself, which stays the parent of the
     * restored tree and exits when the tree's root exits; the clone's root pid appears in
     * {@code pidFile} once the restore is done.
     *
     * @param request what to restore and how to wire its standard streams
     * @return the running CRIU process
     * @throws SnapshotException when CRIU cannot be started
     */
    default Process startRestore(RestoreRequest request) {
        return startRestore(request, Wrapper.none());
    }

    /**
     * Starts a restore as {@link #startRestore(RestoreRequest)} does, with CRIU run through
     * {@code wrapper}'s command (e.g. the sandbox launcher, which joins the clone's network
     * namespace and cgroups and then execs CRIU), given {@code wrapper}'s extra options and
     * descriptors. Started from {@link dev.thaw.linux.NativeSpawn#spawner()}'s thread: the
     * parent-death signal a wrapper arms survives the exec of CRIU and fires when the spawning
     * thread ends, so that thread lives as long as the JVM.
     *
     * @throws SnapshotException when CRIU (or the wrapper) cannot be started
     */
    Process startRestore(RestoreRequest request, Wrapper wrapper);

    /**
     * The command line {@link #startRestore(RestoreRequest, Wrapper)} runs after its wrapper's
     * command: CRIU with thaw's options for {@code request}, then {@code extraOptions}. For a
     * launcher started ahead of the restore that is handed CRIU's command line when the restore
     * begins (the sandbox's parked restore), and which has the restore's standard streams already
     * (the request's are not used). Creates the request's work directory.
     *
     * @throws SnapshotException when the work directory cannot be created
     */
    List<String> restoreCommand(RestoreRequest request, List<String> extraOptions);

    /**
     * @return the start of every {@link #restoreCommand} (the loader, its options, CRIU) when this
     *     CRIU can be started ahead of its command line and handed it later (install-criu.sh's
     *     preload library, on the loader's list, waits for it on the descriptor named by
     *     {@code THAW_CRIU_COMMAND_FD}); empty when it cannot
     */
    default List<String> programStartableAhead() {
        return List.of();
    }

    /**
     * How CRIU is run for one operation, beyond what thaw always gives it.
     *
     * @param command put before CRIU's own command line (a launcher and its arguments, ending with
     *     its {@code --}); empty: CRIU is started directly
     * @param options added after thaw's own options for the operation
     * @param descriptors child fd (3 or more) to the fd of this process it is a duplicate of, for
     *     the wrapper or CRIU
     */
    record Wrapper(List<String> command, List<String> options, java.util.Map<Integer, Integer> descriptors) {

        /** Copies the arguments. */
        public Wrapper {
            command = List.copyOf(command);
            options = List.copyOf(options);
            descriptors = java.util.Map.copyOf(descriptors);
        }

        /** @return CRIU started directly with thaw's own options only: what the one-argument methods do */
        public static Wrapper none() {
            return new Wrapper(List.of(), List.of(), java.util.Map.of());
        }

        /** @return whether this changes nothing */
        public boolean isNone() {
            return command.isEmpty() && options.isEmpty() && descriptors.isEmpty();
        }
    }

    /**
     * Result of a dump.
     *
     * @param duration wall time of {@code criu dump}
     * @param imageBytes total size of the image files
     */
    record DumpResult(Duration duration, long imageBytes) {
    }

    /**
     * What to restore.
     *
     * @param imagesDir the image of {@link #dump}
     * @param workDir a directory of this restore's own (logs, pid file)
     * @param stdin file the clone's fd 0 is re-attached to (e.g. {@code /proc/self/fd/N} of a pipe end)
     * @param stdout file the clone's fd 1 and 2 are re-attached to
     * @param inheritedPipes the {@code pipe:[inode]} names the image's fds 0 and 1 had at dump time
     *     (index 0: stdin's, index 1: stdout's)
     * @param lazyPages whether anonymous private memory is left to a lazy-pages daemon listening on
     *     {@code workDir/lazy-pages.socket} ({@code --lazy-pages}) instead of being read from the image
     */
    record RestoreRequest(Path imagesDir, Path workDir, Path stdin, Path stdout, List<String> inheritedPipes,
                          boolean lazyPages) {

        /** An eager restore: every page read from the image before the clone runs. */
        public RestoreRequest(Path imagesDir, Path workDir, Path stdin, Path stdout, List<String> inheritedPipes) {
            this(imagesDir, workDir, stdin, stdout, inheritedPipes, false);
        }

        /** @return where CRIU writes the restored root's pid */
        public Path pidFile() {
            return workDir.resolve("restored.pid");
        }

        /** @return where CRIU writes its log */
        public Path logFile() {
            return workDir.resolve("restore.log");
        }
    }
}
