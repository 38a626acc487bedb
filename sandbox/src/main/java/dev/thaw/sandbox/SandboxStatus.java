package dev.thaw.sandbox;

import java.util.List;

/**
 * Whether instances can be sandboxed on this machine, and what the sandbox enforces here.
 *
 * @param available true when the launcher runs and this machine lets root make the namespaces
 * @param reason one sentence a user can act on: why not, or that it is on
 * @param enforcement one line for {@code thaw up}: what a function is held to, and what is not
 *     enforced here (e.g. {@code user, mount, pid, ipc, uts and network namespaces; seccomp; no
 *     capabilities; read-only root; memory (the function's memoryMb), cpu shares, pids 1024 via
 *     cgroup v1; RLIMIT_NOFILE 1024; /tmp 64 MiB})
 * @param missing what is not enforced although the sandbox is available (a cgroup controller
 *     this machine lacks), empty when everything is
 */
public record SandboxStatus(boolean available, String reason, String enforcement, List<String> missing) {

    /** Copies the list. */
    public SandboxStatus {
        missing = List.copyOf(missing);
    }

    /** @return whether the sandbox is available but some limit is not enforced */
    public boolean partial() {
        return available && !missing.isEmpty();
    }

    static SandboxStatus unavailable(String reason) {
        return new SandboxStatus(false, reason, "none: " + reason, List.of());
    }
}
