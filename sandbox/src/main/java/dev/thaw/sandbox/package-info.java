/**
 * Function instances sandboxed for a multi-tenant node: user, pid, mount, ipc, uts and network
 * namespaces of their own, a read-only root of bind mounts, an unprivileged user without
 * capabilities, {@code no_new_privs} and a seccomp filter, cgroup limits on memory, CPU and
 * processes; and the CRIU options that dump such an instance and restore clones of it.
 * {@link dev.thaw.sandbox.Sandboxes} is the entry point; {@code sandbox/README.md} explains the
 * design.
 */
package dev.thaw.sandbox;
