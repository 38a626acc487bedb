package dev.thaw.sandbox;

import dev.thaw.linux.Libc;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/*
 * Every sandboxed start moves a process into the instance's cgroups (the launcher writes itself to
 * their cgroup.procs before it boots the JVM or runs CRIU). By default the kernel makes the first
 * such move after a quiet moment wait for an RCU grace period: moves take cgroup_threadgroup_rwsem
 * for writing, a per-CPU rwsem whose readers (fork, exit) are kept lock-free by making writers wait
 * for every CPU. Measured on this project's 2-core VMs: 8-18 ms per move after a second of quiet,
 * ~0.1 ms once the rwsem favors writers. That was a third of a sandboxed restore of hello.
 *
 * The cgroup2 root flag `favordynmods` (Linux 6.0+) switches that rwsem to favor moves, at the
 * price of slightly costlier forks and exits, which a node running JVMs makes few of. It is a flag
 * of the one cgroup2 root, so the node sets it by mounting that root once more with its current
 * flags plus favordynmods (a mount applies its flags to the root; leaving one out would clear it,
 * so nsdelegate and the memory_* flags of a systemd host are carried over), then unmounts it at
 * once: the flag stays on the root, and nothing is left mounted. On some kernels it cannot be
 * turned off again until a reboot; the node says what it did in `thaw up`.
 */
/** Makes moving processes into cgroups cheap: the cgroup2 root's favordynmods (see the comment above). */
final class CgroupMoves {
    static final String FLAG = "favordynmods";

    private CgroupMoves() {
    }

    /**
     * Sets favordynmods on the cgroup2 root unless it is set already.
     *
     * @param mounts this mount namespace's mounts
     * @param scratch an empty directory to mount on for a moment (created, then removed)
     * @return one phrase for {@code thaw up}: what moves into cgroups cost here
     */
    static String favor(List<MountInfo.Mount> mounts, Path scratch) {
        Optional<MountInfo.Mount> v2 = cgroup2(mounts);
        if (v2.isPresent() && options(v2.get().superOptions()).contains(FLAG)) {
            return "cgroup moves without an RCU wait (" + FLAG + ")";
        }
        try {
            Files.createDirectories(scratch);
            Libc.mount("thaw-cgroup2", scratch.toString(), "cgroup2", Libc.MS_NOSUID | Libc.MS_NODEV | Libc.MS_NOEXEC,
                    mountData(v2.map(MountInfo.Mount::superOptions).orElse("")));
            Libc.umount2(scratch.toString(), Libc.MNT_DETACH);
            return "cgroup moves without an RCU wait (" + FLAG + ", set by this node)";
        } catch (IOException | RuntimeException e) {
            return "each cgroup move may wait for an RCU grace period (~10 ms a start): the cgroup2 root's " + FLAG
                    + " could not be set: " + e.getMessage();
        } finally {
            try {
                Files.deleteIfExists(scratch);
            } catch (IOException e) {
                // a leftover empty directory in the node's own sandbox home
            }
        }
    }

    /** @return the cgroup2 root's mount, if one is mounted */
    static Optional<MountInfo.Mount> cgroup2(List<MountInfo.Mount> mounts) {
        return mounts.stream().filter(m -> m.type().equals("cgroup2") && m.root().equals("/")).findFirst();
    }

    /**
     * @param superOptions the cgroup2 root's options now (empty when none is mounted)
     * @return the mount data that keeps them and adds favordynmods ({@code rw} and {@code ro} are
     *     the mount's, not the root's)
     */
    static String mountData(String superOptions) {
        List<String> keep = options(superOptions).stream().filter(o -> !o.equals("rw") && !o.equals("ro") && !o.equals(FLAG))
                .collect(Collectors.toList());
        keep.add(FLAG);
        return String.join(",", keep);
    }

    private static List<String> options(String superOptions) {
        return Arrays.stream(superOptions.split(",")).map(String::strip).filter(o -> !o.isEmpty()).toList();
    }
}
