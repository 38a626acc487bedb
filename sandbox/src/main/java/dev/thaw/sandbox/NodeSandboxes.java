package dev.thaw.sandbox;

import dev.thaw.linux.Libc;
import dev.thaw.linux.NativeException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/*
 * A node's sandboxes. Everything host-side that outlives a call is named after the node's key, the
 * first 12 hex digits of the SHA-256 of its data directory's real path, or lives under the data
 * directory:
 *
 *   DATA/sandbox.lock                       flock'd while the node runs; holds its pid
 *   DATA/sandbox/bin/thaw-sandbox-<sha>     the launcher (content-named)
 *   DATA/sandbox/root/                      the skeleton root (rebuilt at every open)
 *   DATA/sandbox/identities.properties      function identities
 *   DATA/sandbox/scratch/<id>/              each instance's scratch: a tmpfs mounted here
 *   DATA/sandbox/run/<id>/                  each instance's work: the post-dump hook, the scratch
 *                                           copy a dump took
 *   <hierarchy>/<parent>/<key>/<id>         each instance's cgroup, in every hierarchy thaw uses
 *
 * Network namespaces are held by descriptors only and die with the node. The skeleton is made a
 * mount point inside each instance's (and each restore's) own mount namespace, never in the
 * host's: the only host mounts are the scratch tmpfs.
 *
 * A node that dies without closing its sandboxes takes its instances along: each launcher holds the
 * read end of the node's lifeline pipe (the node alone holds the write end) and has a parent-death
 * signal; the instance's pid 1 has one towards its launcher; a clone's root has one towards the
 * CRIU that restored it, which has one towards the node's spawner thread. What the kernel keeps
 * (cgroups, scratch mounts) and the directories are swept by the next open on the same data
 * directory, which first makes sure nothing still runs in those cgroups.
 */
/** The sandboxes of one node (one data directory). */
final class NodeSandboxes implements Sandboxes {
    private static final System.Logger LOG = System.getLogger("dev.thaw.sandbox");
    private static final Duration KILL_TIMEOUT = Duration.ofSeconds(5);
    /** Where restores stage their mount sources (see the launcher's restore mode): walkable by every user. */
    static final Path STAGING_ROOT = Path.of("/run/thaw-sandbox");

    final SandboxConfig config;
    final Path home;
    final Path launcher;
    final Path skeleton;
    final Path stage;
    final Layout layout;
    final Cgroups cgroups;
    final String cgroupParent;
    /** Whether the skeleton holds the device nodes, or instances get the host's bound. */
    final boolean devicesInRoot;
    private final int lockFd;
    private final int[] lifeline;
    private final Identities identities;
    private final SandboxStatus status;
    private final SweepReport swept;
    /** Open instance sandboxes by id; empty while one is being made. */
    private final Map<String, Optional<SandboxedInstance>> instances = new ConcurrentHashMap<>();
    private boolean closed;

    private NodeSandboxes(SandboxConfig config, Path home, Path launcher, Cgroups cgroups, String cgroupParent, int lockFd,
                          SandboxStatus status, SweepReport swept) {
        this.config = config;
        this.home = home;
        this.launcher = launcher;
        this.cgroups = cgroups;
        this.cgroupParent = cgroupParent;
        this.lockFd = lockFd;
        this.status = status;
        this.swept = swept;
        this.skeleton = home.resolve("root");
        this.stage = stagingDir(STAGING_ROOT.resolve(key(config.dataDir())));
        Identities.checkRange(config.uidBase(), config.maxFunctions(), Path.of("/etc/passwd"), Path.of("/etc/group"));
        this.identities = new Identities(home.resolve("identities.properties"), config.uidBase(), config.maxFunctions());
        this.layout = Layout.of(config, MountInfo.read());
        this.devicesInRoot = layout.buildSkeleton(skeleton, List.of(), config.hostname());
        cgroups.makeParent(cgroupParent);
        cgroups.weighInstances(config.cgroupParent(), Runtime.getRuntime().availableProcessors());
        this.lifeline = Libc.pipe2(Libc.O_CLOEXEC);
    }

    static SandboxStatus probe(SandboxConfig config) {
        int euid = Libc.geteuid();
        if (euid != 0) {
            return SandboxStatus.unavailable("instances are not sandboxed: the sandbox needs root (it maps ids into user "
                    + "namespaces and makes cgroups), and this node runs as uid " + euid);
        }
        String maxUserNs = Cgroups.readOrEmpty(Path.of("/proc/sys/user/max_user_namespaces")).strip();
        if (maxUserNs.equals("0")) {
            return SandboxStatus.unavailable("instances are not sandboxed: user namespaces are off "
                    + "(/proc/sys/user/max_user_namespaces is 0)");
        }
        Path launcher;
        try {
            launcher = Launcher.extract(config.dataDir().resolve("sandbox").resolve("bin"));
        } catch (SandboxException e) {
            return SandboxStatus.unavailable("instances are not sandboxed: " + e.getMessage());
        }
        Optional<String> problem = Launcher.check(launcher);
        if (problem.isPresent()) {
            return SandboxStatus.unavailable("instances are not sandboxed: the launcher's check failed: " + problem.get());
        }
        Cgroups cgroups = Cgroups.detect();
        List<String> missing = cgroups.missing().stream().map(c -> c.name + " (no " + c.name + " cgroup controller)").toList();
        return new SandboxStatus(true, "instances are sandboxed" + (missing.isEmpty() ? "" : ", without " + String.join(", ", missing)),
                enforcement(config, cgroups), missing);
    }

    /** @return the one line {@code thaw up} prints */
    static String enforcement(SandboxConfig config, Cgroups cgroups) {
        List<String> limits = new ArrayList<>();
        if (cgroups.of(Cgroups.Controller.MEMORY).isPresent()) {
            limits.add("memory (the function's memoryMb)");
        }
        if (cgroups.of(Cgroups.Controller.CPU).isPresent()) {
            limits.add("cpu shares by memory");
        }
        if (cgroups.of(Cgroups.Controller.PIDS).isPresent()) {
            limits.add("pids " + config.pidsMax());
        }
        StringBuilder b = new StringBuilder("user, mount, pid, ipc, uts and network namespaces; ")
                .append(config.seccomp() ? "seccomp" : "no seccomp filter").append("; no capabilities; read-only root; ");
        if (!limits.isEmpty()) {
            b.append(String.join(", ", limits)).append(" via ").append(cgroups.versions()).append("; ");
        }
        b.append("RLIMIT_NOFILE ").append(config.openFiles()).append("; /tmp ").append(config.scratchMb()).append(" MiB");
        if (!cgroups.missing().isEmpty()) {
            b.append("; not enforced: ").append(String.join(", ", cgroups.missing().stream()
                    .map(c -> c.name + " (no " + c.name + " controller)").toList()));
        }
        return b.toString();
    }

    static Sandboxes open(SandboxConfig config) {
        SandboxStatus status = probe(config);
        if (!status.available()) {
            throw new SandboxException(status.reason());
        }
        Path home = config.dataDir().resolve("sandbox");
        int lockFd = lock(config.dataDir());
        try {
            Files.createDirectories(home);
            Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx------"));
            Files.createDirectories(config.runtimeDir());
            List<MountInfo.Mount> mounts = MountInfo.read();
            Cgroups cgroups = Cgroups.detect(mounts, Cgroups::readOrEmpty);
            String parent = config.cgroupParent() + "/" + key(config.dataDir());
            SweepReport swept = sweep(home, cgroups, parent);
            if (!cgroups.hierarchies().isEmpty()) {
                status = new SandboxStatus(status.available(), status.reason(), status.enforcement() + "; "
                        + CgroupMoves.favor(mounts, home.resolve("cgroup2-flag")), status.missing());
            }
            Path launcher = Launcher.extract(home.resolve("bin"));
            NodeSandboxes s = new NodeSandboxes(config, home, launcher, cgroups, parent, lockFd, status, swept);
            LOG.log(System.Logger.Level.INFO, "sandbox: " + status.enforcement() + (swept.isEmpty() ? "" : "; swept: " + swept));
            return s;
        } catch (IOException | RuntimeException e) {
            Libc.close(lockFd);
            if (e instanceof SandboxException s) {
                throw s;
            }
            throw new SandboxException("cannot open the sandboxes of " + config.dataDir() + ": " + e.getMessage(), e);
        }
    }

    static SweepReport sweepAfterDeadNode(SandboxConfig config) {
        Path home = config.dataDir().resolve("sandbox");
        if (!Files.isDirectory(home)) {
            return new SweepReport(0, 0, 0, 0);
        }
        int lockFd = lock(config.dataDir());
        try {
            Cgroups cgroups = Cgroups.detect();
            String parent = config.cgroupParent() + "/" + key(config.dataDir());
            SweepReport swept = sweep(home, cgroups, parent);
            cgroups.removeParent(parent);
            removeStaging(STAGING_ROOT.resolve(key(config.dataDir())));
            return swept;
        } catch (IOException e) {
            throw new SandboxException("cannot sweep the sandboxes of " + config.dataDir() + ": " + e.getMessage(), e);
        } finally {
            Libc.close(lockFd);
        }
    }

    /** Removes a node's (empty) staging directory, and their root when no other node's is in it. */
    private static void removeStaging(Path stage) {
        for (Path dir : List.of(stage, STAGING_ROOT)) {
            try {
                Files.deleteIfExists(dir);
            } catch (java.nio.file.DirectoryNotEmptyException othersLeft) {
                // another node's staging directory
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "sandbox cleanup: cannot remove " + dir + ": " + e.getMessage());
            }
        }
    }

    /** Takes the data directory's lock, or says which process holds it. */
    private static int lock(Path dataDir) {
        Path file = dataDir.resolve("sandbox.lock");
        try {
            Files.createDirectories(dataDir);
            int fd = Libc.open(file.toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0600);
            if (!Libc.flock(fd, Libc.LOCK_EX | Libc.LOCK_NB)) {
                Libc.close(fd);
                String holder = Cgroups.readOrEmpty(file).strip();
                throw new SandboxException("another thaw node" + (holder.isEmpty() ? "" : " (pid " + holder + ")")
                        + " is using the data directory " + dataDir + ": stop it, or give this node a data directory of its own");
            }
            Files.writeString(file, ProcessHandle.current().pid() + "\n", StandardCharsets.US_ASCII);
            return fd;
        } catch (IOException | NativeException e) {
            throw new SandboxException("cannot lock " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Makes the (empty) directory restores mount their staging tmpfs on, in their own mount
     * namespaces only: root-owned, 0755, on a path every user can walk.
     */
    private static Path stagingDir(Path dir) {
        try {
            Files.createDirectories(dir);
            for (Path p = dir; p != null; p = p.getParent()) {
                if (p.startsWith(STAGING_ROOT)) {
                    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
                } else if (!Files.getPosixFilePermissions(p).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE)) {
                    throw new SandboxException(p + " is not walkable by other users (mode o+x): restores stage their mounts under " + dir);
                }
            }
            return dir;
        } catch (IOException e) {
            throw new SandboxException("cannot make the staging directory " + dir + ": " + e.getMessage(), e);
        }
    }

    /** @return the node's key: 12 hex digits of the SHA-256 of its data directory's real path */
    static String key(Path dataDir) {
        try {
            Path real = dataDir.toRealPath();
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(real.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest).substring(0, 12);
        } catch (IOException e) {
            throw new SandboxException("cannot resolve the data directory " + dataDir + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    /**
     * Cleans up after a dead node with the same key: kills what still runs in its instance cgroups
     * and removes them, unmounts whatever is mounted under {@code home}, removes the work directories.
     */
    static SweepReport sweep(Path home, Cgroups cgroups, String parent) throws IOException {
        int cgroupCount = 0;
        int killed = 0;
        for (var entry : cgroups.children(parent).entrySet()) {
            killed += Cgroups.killAll(entry.getValue(), KILL_TIMEOUT);
            Cgroups.remove(entry.getValue());
            cgroupCount++;
        }
        int mounts = 0;
        for (Path mount : MountInfo.below(MountInfo.read(), home.toRealPath())) {
            try {
                Libc.umount2(mount.toString(), Libc.MNT_DETACH | Libc.UMOUNT_NOFOLLOW);
                mounts++;
            } catch (NativeException e) {
                if (e.errno() != Libc.EINVAL) { // EINVAL: gone already (a mount below another one)
                    throw e;
                }
            }
        }
        int directories = 0;
        for (String area : List.of("scratch", "run")) {
            Path dir = home.resolve(area);
            if (Files.isDirectory(dir)) {
                try (Stream<Path> s = Files.list(dir)) {
                    for (Path d : s.toList()) {
                        Layout.deleteTree(d);
                        directories++;
                    }
                }
            }
        }
        return new SweepReport(cgroupCount, killed, mounts, directories);
    }

    @Override
    public SandboxStatus status() {
        return status;
    }

    @Override
    public SweepReport swept() {
        return swept;
    }

    @Override
    public FunctionIdentity identity(String function) {
        return identities.of(function);
    }

    @Override
    public InstanceSandbox create(InstanceSpec spec) {
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("the sandboxes of " + config.dataDir() + " are closed");
            }
            if (instances.putIfAbsent(spec.id(), Optional.empty()) != null) {
                throw new SandboxException("instance " + spec.id() + " has a sandbox already");
            }
        }
        try {
            SandboxedInstance instance = SandboxedInstance.create(this, spec, identity(spec.function()));
            instances.put(spec.id(), Optional.of(instance));
            return instance;
        } catch (RuntimeException | Error e) {
            instances.remove(spec.id());
            throw e;
        }
    }

    /** @return the read end of the node's lifeline, which launchers watch */
    int lifelineReadFd() {
        return lifeline[0];
    }

    void closed(SandboxedInstance instance) {
        instances.remove(instance.id(), Optional.of(instance));
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        for (Optional<SandboxedInstance> i : List.copyOf(instances.values())) {
            i.ifPresent(SandboxedInstance::close);
        }
        try {
            cgroups.removeParent(cgroupParent);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "sandbox cleanup: " + e.getMessage(), e);
        }
        removeStaging(stage); // whatever became of the cgroups: each node's staging directory is its own
        Libc.close(lifeline[1]);
        Libc.close(lifeline[0]);
        Libc.close(lockFd);
    }
}
