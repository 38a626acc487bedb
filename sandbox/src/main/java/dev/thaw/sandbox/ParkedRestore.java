package dev.thaw.sandbox;

import java.util.List;

/**
 * A restore launcher started ahead of its restore ({@link InstanceSandbox#parkRestore}): it has
 * joined the instance's network namespace and cgroups and prepared its mount namespace, and waits
 * for CRIU's command line. Joining the cgroups is most of what the launcher costs a restore (the
 * kernel's first task migration waits for an RCU grace period, ~10 ms here): parked while the node
 * does other work (materializing the image, a pool of warm sandboxes), it is off the restore's path.
 */
public interface ParkedRestore extends AutoCloseable {

    /**
     * @return the launcher, which becomes CRIU once {@link #start} hands it the command line: the
     *     restore's supervisor, as {@code Criu.startRestore} returns it (it exits when the clone's
     *     root does)
     */
    Process process();

    /**
     * Hands the launcher CRIU's command line ({@code criu.restoreCommand(request,
     * sandbox.restoreWrapper().options())}); it execs it as soon as it is ready. Once only.
     *
     * @return {@link #process()}
     * @throws SandboxException when the launcher is gone (its stderr says why)
     * @throws IllegalStateException when it was started or closed already
     */
    Process start(List<String> criuCommand);

    /** Cancels a restore that was not started: the launcher exits. Idempotent. */
    @Override
    void close();
}
