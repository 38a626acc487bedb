package dev.thaw.sandbox;

import java.util.List;
import java.util.Optional;

/**
 * What a launcher's exit status means: 200 and up, the step it failed at before the program (or
 * CRIU) ran, as {@code src/main/c/thaw-sandbox.c} numbers them; anything else is the program's own
 * status (128 + a signal when it was killed).
 */
public final class LauncherExit {
    /** The first status that names a launcher step. */
    public static final int FIRST = 200;
    private static final List<String> STEPS = List.of("usage", "arming the parent-death signal",
            "the node's lifeline (the node is gone)", "joining the network namespace", "joining a cgroup",
            "dropping supplementary groups", "setting a resource limit", "making a pipe", "making the namespaces",
            "writing the id maps", "waiting for the supervisor", "making the mounts private", "binding the root onto itself",
            "a bind mount", "binding a device node", "binding the scratch", "mounting proc", "pivot_root",
            "remounting the root read-only", "setting the host name", "setsid", "setresgid", "setresuid",
            "dropping capabilities", "no_new_privs", "changing to the working directory", "installing the seccomp filter",
            "exec", "waiting for pid 1", "unsharing the mount namespace", "staging the mount sources",
            "waiting for the command line (parked)", "making the ipc and uts namespaces",
            "joining the instance's ipc and uts namespaces");

    private LauncherExit() {
    }

    /**
     * @param status a launcher's exit status
     * @return the step it failed at, e.g. {@code a bind mount}, or empty when the status is the
     *     program's (or CRIU's) own; the launcher's stderr has the line with the reason
     */
    public static Optional<String> failedStep(int status) {
        int i = status - FIRST;
        return i >= 0 && i < STEPS.size() ? Optional.of(STEPS.get(i)) : Optional.empty();
    }
}
