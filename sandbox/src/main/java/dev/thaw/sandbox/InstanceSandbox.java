package dev.thaw.sandbox;

import dev.thaw.criu.Criu;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * One instance's sandbox: its cgroup, network namespace and scratch, and what starts, dumps and
 * restores the instance inside them. Made by {@link Sandboxes#create}; {@link #close()} removes it
 * all.
 *
 * <p>Order for a boot: {@link #openListener} (the Runtime API), spawn {@link #boot} through a
 * long-lived spawner, wait for the runtime; to snapshot it: {@code criu.dump(pid, dir, log,
 * dumpWrapper())}, then {@link #saveScratch} into the snapshot. For a clone: create a sandbox,
 * {@link #openListener} on the same port, {@link #seedScratch} from the snapshot, then
 * {@code criu.startRestore(request, restoreWrapper())}.
 */
public interface InstanceSandbox extends AutoCloseable {

    /** @return the instance id it was created for */
    String id();

    /** @return the host ids the instance runs as */
    FunctionIdentity identity();

    /** @return the inode number of its network namespace ({@code net:[inode]}) */
    long networkNamespace();

    /** @return where its scratch ({@code /tmp} inside) is mounted on the host */
    Path scratch();

    /**
     * Opens a TCP listener on {@code 127.0.0.1:port} inside the instance's network namespace: the
     * only address the instance can reach besides its own sockets. The node serves the Lambda
     * Runtime API on it; a clone's sandbox opens one on the port its image expects.
     *
     * @throws SandboxException when the port cannot be bound
     */
    ServerSocketChannel openListener(int port);

    /**
     * The launcher command that boots {@code program} as pid 1 of the instance's namespaces, as
     * the function's user, in {@code directory} inside (e.g. {@link SandboxConfig#CODE_INSIDE}).
     * Paths in {@code program} and in the environment are the instance's own:
     * {@link SandboxConfig#CODE_INSIDE}, {@link SandboxConfig#RUNTIME_INSIDE},
     * {@link SandboxConfig#SCRATCH_INSIDE}. The launcher stays as the instance's supervisor and
     * exits with its status (128 + signal when it was killed; 200 and up when the launcher failed
     * before the program ran, with one line on stderr saying which step and why).
     */
    SandboxCommand boot(List<String> program, String directory);

    /**
     * How {@code criu dump} must run for this instance: inside its network namespace, with every
     * bind mount of its root named as an external mount, cgroups left alone, and a post-dump hook
     * that copies its scratch while the instance is still frozen (see {@link #saveScratch}).
     */
    Criu.Wrapper dumpWrapper();

    /**
     * Removes from a dump through {@link #dumpWrapper()} what no restore through this sandbox uses:
     * CRIU's record of the instance's cgroups. Clones go to cgroups of their own and CRIU is told to
     * leave cgroups alone, yet with the record present CRIU starts a helper process for each restore
     * and waits for it to stop at the end (1.5-2 ms of every restore).
     *
     * @param imagesDir where the dump wrote its images
     * @throws SandboxException when the record cannot be removed
     */
    void trimDump(Path imagesDir);

    /**
     * Moves the copy of the scratch that the last {@link #dumpWrapper() dump} took (while the
     * instance was frozen) to {@code dir}, which must not exist: keep it with the snapshot. Files,
     * directories and symbolic links keep their ownership, modes, sizes and times.
     *
     * @throws SandboxException when no dump took a copy, or it cannot be moved
     */
    void saveScratch(Path dir);

    /**
     * Copies a saved scratch into this instance's (still empty) scratch before a restore: CRIU
     * checks that files the image has open are there with their sizes and modes.
     *
     * @throws SandboxException when it cannot be copied (e.g. it does not fit)
     */
    void seedScratch(Path dir);

    /**
     * How {@code criu restore} must run for a clone in this sandbox: through the launcher, which
     * joins the instance's network namespace and cgroups (the restored tasks are born in them) and
     * makes the skeleton root a mount point in a private mount namespace, then execs CRIU with
     * {@code --root}, this node's path for every external mount key, and
     * {@code --manage-cgroups=ignore}.
     */
    Criu.Wrapper restoreWrapper();

    /**
     * Starts the restore launcher now, ready to exec CRIU when {@link ParkedRestore#start} hands it
     * the command line: a restore that does not wait for the launcher's cgroup joins. Its standard
     * streams are CRIU's (the clone's pipes, as {@code Criu.RestoreRequest} names them, and CRIU's
     * stderr); it is spawned from {@link dev.thaw.linux.NativeSpawn#spawner()}.
     *
     * @throws SandboxException when it cannot be started
     */
    default ParkedRestore parkRestore(Path stdin, Path stdout, Path stderr) {
        return parkRestore(stdin, stdout, stderr, List.of());
    }

    /**
     * As {@link #parkRestore(Path, Path, Path)}, with CRIU itself started ahead as well when
     * {@code criuAhead} names its program ({@code Criu.programStartableAhead()}): it loads its
     * libraries while parked, and a command line that starts with that program is handed to it.
     */
    ParkedRestore parkRestore(Path stdin, Path stdout, Path stderr, List<String> criuAhead);

    /**
     * @return the host pid of the instance's pid 1 (the namespace's init) once it runs: the pid
     *     to dump
     */
    Optional<Long> initPid();

    /** @return the host pids of every process in the instance's cgroup (the launcher or CRIU included) */
    Set<Long> processes();

    /**
     * @return the most memory the instance's cgroup used since it was made or since
     *     {@link #resetMemoryPeak()}; 0 without a memory controller
     */
    long memoryPeakBytes();

    /** Starts a new peak (e.g. before each invocation, for its "Max Memory Used"). */
    void resetMemoryPeak();

    /** @return how many processes the kernel killed for running out of memory in the instance's cgroup */
    long oomKills();

    /**
     * Kills whatever still runs in the instance's cgroup, closes its listeners and namespace,
     * unmounts its scratch, removes its cgroup and work directory. Idempotent; never throws
     * (problems are logged).
     */
    @Override
    void close();
}
