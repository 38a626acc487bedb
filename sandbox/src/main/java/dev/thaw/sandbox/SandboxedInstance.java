package dev.thaw.sandbox;

import dev.thaw.criu.Criu;
import dev.thaw.linux.Libc;
import dev.thaw.linux.NativeException;
import dev.thaw.linux.NativeSpawn;
import dev.thaw.linux.NetworkNamespace;
import dev.thaw.linux.SpawnRequest;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/*
 * One instance's sandbox. create() makes, in this order, its cgroup (limits set before anything
 * joins it), its network namespace (loopback up), its scratch (a tmpfs of the instance's size,
 * owned by the function's user, mode 1777, nosuid and nodev, mounted in the host's mount namespace
 * under the node's directory) and its work directory with the post-dump hook; a failure undoes
 * what was made. close() undoes it all in the reverse order, after killing what runs in the
 * cgroup.
 *
 * Why the scratch lives outside the instance: CRIU would dump a tmpfs inside the instance's mount
 * namespace by archiving its content into the image (with tar, which fails inside the user
 * namespace on restore, and costs time on every dump and restore). Mounted outside and bound in,
 * it is an external bind mount to CRIU like /usr; its content at dump time is copied by the
 * post-dump hook while CRIU still holds the tasks frozen (a copy taken after the dump could see
 * files the resumed instance already changed), kept with the snapshot, and copied into each
 * clone's fresh scratch before its restore, with owners, modes and sizes (CRIU checks the sizes
 * and modes of the files a process has open).
 */
/** One instance's sandbox. */
final class SandboxedInstance implements InstanceSandbox {
    private static final System.Logger LOG = System.getLogger("dev.thaw.sandbox");
    private static final Duration KILL_TIMEOUT = Duration.ofSeconds(5);

    private final NodeSandboxes node;
    private final InstanceSpec spec;
    private final FunctionIdentity identity;
    private final InstanceCgroup cgroup;
    private final NetworkNamespace netns;
    private final Path scratch;
    private final Path runDir;
    /** The external mounts of what this instance dumps. */
    private final List<Layout.Bind> externals;
    /** The external mounts a restore names: those, and those of images dumped by earlier layouts. */
    private final List<Layout.Bind> restoreExternals;
    private final List<ServerSocketChannel> listeners = new ArrayList<>();
    private boolean closed;

    private SandboxedInstance(NodeSandboxes node, InstanceSpec spec, FunctionIdentity identity, InstanceCgroup cgroup,
                              NetworkNamespace netns, Path scratch, Path runDir) {
        this.node = node;
        this.spec = spec;
        this.identity = identity;
        this.cgroup = cgroup;
        this.netns = netns;
        this.scratch = scratch;
        this.runDir = runDir;
        this.externals = node.layout.externals(List.of(code(spec)), scratch, node.devicesInRoot);
        this.restoreExternals = Layout.restoreExternals(externals, node.devicesInRoot);
    }

    private static Layout.Bind code(InstanceSpec spec) {
        return new Layout.Bind(spec.code(), SandboxConfig.CODE_INSIDE, "code", true);
    }

    static SandboxedInstance create(NodeSandboxes node, InstanceSpec spec, FunctionIdentity identity) {
        if (!Files.isDirectory(spec.code())) {
            throw new SandboxException("cannot sandbox instance " + spec.id() + ": its code directory " + spec.code() + " does not exist");
        }
        InstanceCgroup cgroup = InstanceCgroup.create(node.cgroups, node.cgroupParent, spec.id(), spec.memoryMb(),
                node.config.pidsMax());
        NetworkNamespace netns = null;
        Path scratch = node.home.resolve("scratch").resolve(spec.id());
        boolean mounted = false;
        Path runDir = node.home.resolve("run").resolve(spec.id());
        try {
            netns = NetworkNamespace.create();
            Files.createDirectories(scratch);
            int mb = spec.scratchMb() > 0 ? spec.scratchMb() : node.config.scratchMb();
            Libc.mount("thaw-scratch", scratch.toString(), "tmpfs", Libc.MS_NOSUID | Libc.MS_NODEV,
                    "size=" + mb + "m,mode=1777,uid=" + identity.uid() + ",gid=" + identity.gid());
            mounted = true;
            Files.createDirectories(runDir);
            Files.setPosixFilePermissions(runDir, PosixFilePermissions.fromString("rwx------"));
            writePostDumpHook(runDir, scratch);
            return new SandboxedInstance(node, spec, identity, cgroup, netns, scratch, runDir);
        } catch (IOException | RuntimeException e) {
            if (mounted) {
                Libc.umount2(scratch.toString(), Libc.MNT_DETACH);
            }
            quietly(() -> Layout.deleteTree(runDir));
            quietly(() -> Files.deleteIfExists(scratch));
            if (netns != null) {
                netns.close();
            }
            cgroup.killAndRemove(KILL_TIMEOUT);
            throw e instanceof SandboxException s ? s
                    : new SandboxException("cannot sandbox instance " + spec.id() + ": " + e.getMessage(), e);
        }
    }

    /**
     * CRIU runs the action script at every stage of a dump; at post-dump the tasks are dumped and
     * still frozen. The script copies the scratch then, with cp -a (owners, modes, times, links).
     */
    private static void writePostDumpHook(Path runDir, Path scratch) throws IOException {
        Path stage = runDir.resolve("scratch-at-dump");
        Path hook = runDir.resolve("post-dump");
        Files.writeString(hook, "#!/bin/sh\n"
                + "# thaw: copies the instance's scratch while CRIU holds it frozen after a dump\n"
                + "[ \"$CRTOOLS_SCRIPT_ACTION\" = post-dump ] || exit 0\n"
                + "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
                + "rm -rf " + quote(stage) + " && mkdir " + quote(stage) + " && exec cp -a " + quote(scratch.resolve("."))
                + " " + quote(stage) + "\n");
        Files.setPosixFilePermissions(hook, PosixFilePermissions.fromString("rwx------"));
    }

    private static String quote(Path p) {
        return "'" + p.toString().replace("'", "'\\''") + "'";
    }

    @Override
    public String id() {
        return spec.id();
    }

    @Override
    public FunctionIdentity identity() {
        return identity;
    }

    @Override
    public long networkNamespace() {
        return netns.inode();
    }

    @Override
    public Path scratch() {
        return scratch;
    }

    @Override
    public ServerSocketChannel openListener(int port) {
        ServerSocketChannel listener;
        try {
            listener = netns.call(() -> ServerSocketChannel.open(StandardProtocolFamily.INET)
                    .bind(new InetSocketAddress("127.0.0.1", port)));
        } catch (RuntimeException e) {
            throw new SandboxException("cannot listen on 127.0.0.1:" + port + " in the network namespace of instance "
                    + spec.id() + ": " + e.getMessage(), e);
        }
        synchronized (this) {
            if (!closed) {
                listeners.add(listener);
                return listener;
            }
        }
        closeQuietly(listener);
        throw new IllegalStateException("the sandbox of instance " + spec.id() + " is closed");
    }

    @Override
    public SandboxCommand boot(List<String> program, String directory) {
        if (program.isEmpty()) {
            throw new IllegalArgumentException("no program to boot");
        }
        SandboxConfig c = node.config;
        List<String> argv = new ArrayList<>(List.of(node.launcher.toString(), "boot",
                "--lifeline-fd", Integer.toString(Launcher.LIFELINE_FD), "--netns-fd", Integer.toString(Launcher.NETNS_FD)));
        for (Path dir : cgroup.dirs()) {
            argv.addAll(List.of("--cgroup", dir.toString()));
        }
        argv.addAll(List.of("--uid-map", identity.uidMap(), "--gid-map", identity.gidMap(),
                "--user", FunctionIdentity.INSIDE_USER + ":" + FunctionIdentity.INSIDE_USER, "--root", node.skeleton.toString()));
        List<Layout.Bind> binds = new ArrayList<>(node.layout.binds());
        binds.add(code(spec));
        for (Layout.Bind b : binds) {
            argv.addAll(List.of("--bind", b.launcherArgument()));
        }
        if (node.devicesInRoot) {
            argv.addAll(List.of("--root-devices", "on"));
        } else {
            for (String device : Layout.DEVICES) {
                argv.addAll(List.of("--dev", device));
            }
        }
        argv.addAll(List.of("--scratch", scratch.toString(), "--rlimit", "nofile=" + c.openFiles(), "--chdir", directory,
                "--hostname", c.hostname(), "--seccomp", c.seccomp() ? "on" : "off", "--"));
        argv.addAll(program);
        return new SandboxCommand(argv, descriptors(true));
    }

    private Map<Integer, Integer> descriptors(boolean lifeline) {
        return lifeline ? Map.of(Launcher.NETNS_FD, netns.fd(), Launcher.LIFELINE_FD, node.lifelineReadFd())
                : Map.of(Launcher.NETNS_FD, netns.fd());
    }

    @Override
    public Criu.Wrapper dumpWrapper() {
        List<String> options = new ArrayList<>();
        for (Layout.Bind b : externals) {
            options.addAll(List.of("--external", "mnt[" + b.inside() + "]:" + b.key()));
        }
        options.addAll(List.of("--manage-cgroups=ignore", "--action-script", runDir.resolve("post-dump").toString()));
        List<String> launcher = new ArrayList<>(List.of(node.launcher.toString(), "exec", "--netns-fd",
                Integer.toString(Launcher.NETNS_FD)));
        // CRIU runs in the instance's ipc and uts namespaces too, and so dumps none of them (see the launcher)
        initPid().ifPresent(pid -> launcher.addAll(List.of("--ns-of", Long.toString(pid))));
        launcher.add("--");
        return new Criu.Wrapper(launcher, options, descriptors(false));
    }

    @Override
    public void trimDump(Path imagesDir) {
        // every thread of an instance shares its task's cgroups, so no thread needs CRIU's cgroup helper either
        try {
            Files.deleteIfExists(imagesDir.resolve("cgroup.img"));
        } catch (IOException e) {
            throw new SandboxException("cannot trim the dump of instance " + spec.id() + " in " + imagesDir + ": "
                    + e.getMessage(), e);
        }
    }

    @Override
    public void saveScratch(Path dir) {
        Path stage = runDir.resolve("scratch-at-dump");
        if (!Files.isDirectory(stage)) {
            throw new SandboxException("no dump of instance " + spec.id() + " copied its scratch: dump it with dumpWrapper()");
        }
        if (Files.exists(dir)) {
            throw new SandboxException("cannot save the scratch of instance " + spec.id() + " to " + dir + ": it exists");
        }
        try {
            Files.createDirectories(dir.toAbsolutePath().getParent());
            try {
                Files.move(stage, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.createDirectory(dir);
                TreeCopy.copy(stage, dir);
                Layout.deleteTree(stage);
            }
        } catch (IOException e) {
            throw new SandboxException("cannot save the scratch of instance " + spec.id() + " to " + dir + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void seedScratch(Path dir) {
        try {
            TreeCopy.copy(dir, scratch);
        } catch (IOException e) {
            throw new SandboxException("cannot copy " + dir + " into the scratch of instance " + spec.id() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Criu.Wrapper restoreWrapper() {
        List<String> command = restoreLauncher();
        command.add("--");
        return new Criu.Wrapper(command, restoreOptions(), descriptors(true));
    }

    /** @return the restore launcher and its arguments, up to where the command line would follow */
    private List<String> restoreLauncher() {
        List<String> command = new ArrayList<>(List.of(node.launcher.toString(), "restore",
                "--lifeline-fd", Integer.toString(Launcher.LIFELINE_FD), "--netns-fd", Integer.toString(Launcher.NETNS_FD)));
        for (Path dir : cgroup.dirs()) {
            command.addAll(List.of("--cgroup", dir.toString()));
        }
        command.addAll(List.of("--root", node.skeleton.toString(), "--stage", node.stage.toString(),
                "--hide", node.home.resolve("scratch").toString(), "--hostname", node.config.hostname(),
                // the launcher stays the clone's parent and exits with its status (CRIU in the foreground exits 0)
                "--supervise", "1"));
        for (Layout.Bind b : restoreExternals) {
            if (!Layout.walkableByAll(b.source())) {
                // CRIU binds it from inside the user namespace: from where the launcher staged it
                command.addAll(List.of("--stage-bind", b.source() + ":" + b.key()));
            }
        }
        return command;
    }

    /** @return CRIU's restore options for this sandbox */
    private List<String> restoreOptions() {
        List<String> options = new ArrayList<>(List.of("--root", node.skeleton.toString()));
        for (Layout.Bind b : restoreExternals) {
            Path source = Layout.walkableByAll(b.source()) ? b.source() : node.stage.resolve(b.key());
            options.addAll(List.of("--external", "mnt[" + b.key() + "]:" + source));
        }
        options.add("--manage-cgroups=ignore");
        // the root is born the launcher's child (CLONE_PARENT) and CRIU exits once it runs: see --supervise
        options.addAll(List.of("--restore-detached", "--restore-sibling"));
        return options;
    }

    @Override
    public ParkedRestore parkRestore(Path stdin, Path stdout, Path stderr, List<String> criuAhead) {
        int[] control = Libc.pipe2(Libc.O_CLOEXEC);
        try {
            List<String> command = restoreLauncher();
            command.addAll(List.of("--park-fd", Integer.toString(Launcher.PARK_FD)));
            for (String arg : criuAhead) {
                command.addAll(List.of("--ahead", arg));
            }
            Map<Integer, Integer> fds = new java.util.HashMap<>(descriptors(true));
            fds.put(Launcher.PARK_FD, control[0]);
            Process launcher = NativeSpawn.spawner().spawn(SpawnRequest.builder(command).stdin(stdin).stdout(stdout).stderr(stderr)
                    .descriptors(fds).build());
            return new Parked(launcher, control[1]);
        } catch (IOException | RuntimeException e) {
            Libc.close(control[1]);
            throw e instanceof SandboxException s ? s : new SandboxException("cannot park a restore for instance " + spec.id() + ": "
                    + e.getMessage(), e);
        } finally {
            Libc.close(control[0]);
        }
    }

    /** A parked restore launcher and the write end of its command pipe. */
    private static final class Parked implements ParkedRestore {
        private final Process launcher;
        private int control;

        Parked(Process launcher, int control) {
            this.launcher = launcher;
            this.control = control;
        }

        @Override
        public Process process() {
            return launcher;
        }

        @Override
        public synchronized Process start(List<String> criuCommand) {
            if (control < 0) {
                throw new IllegalStateException("this parked restore was started or closed already");
            }
            StringBuilder b = new StringBuilder();
            for (String arg : criuCommand) {
                if (arg.indexOf('\0') >= 0) {
                    throw new IllegalArgumentException("a NUL byte in an argument: " + arg);
                }
                b.append(arg).append('\0');
            }
            try (java.io.FileOutputStream out = new java.io.FileOutputStream("/proc/self/fd/" + control)) {
                out.write(b.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new SandboxException("the parked restore launcher is gone (exit "
                        + (launcher.isAlive() ? "unknown" : launcher.exitValue()) + "): " + e.getMessage(), e);
            } finally {
                Libc.close(control);
                control = -1;
            }
            return launcher;
        }

        @Override
        public synchronized void close() {
            if (control >= 0) {
                Libc.close(control);
                control = -1;
            }
        }
    }

    @Override
    public Optional<Long> initPid() {
        for (long pid : processes()) {
            String status = Cgroups.readOrEmpty(Path.of("/proc/" + pid + "/status"));
            Optional<String> nspid = status.lines().filter(l -> l.startsWith("NSpid:")).findFirst();
            if (nspid.isPresent()) {
                String[] ids = nspid.get().substring("NSpid:".length()).strip().split("\\s+");
                if (ids.length >= 2 && ids[ids.length - 1].equals("1")) {
                    return Optional.of(pid);
                }
            }
        }
        return Optional.empty();
    }

    @Override
    public Set<Long> processes() {
        return cgroup.processes();
    }

    @Override
    public long memoryPeakBytes() {
        return cgroup.memoryPeakBytes();
    }

    @Override
    public void resetMemoryPeak() {
        cgroup.resetMemoryPeak();
    }

    @Override
    public long oomKills() {
        return cgroup.oomKills();
    }

    @Override
    public void close() {
        List<ServerSocketChannel> open;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            open = List.copyOf(listeners);
        }
        quietly(() -> cgroup.killAndRemove(KILL_TIMEOUT));
        open.forEach(SandboxedInstance::closeQuietly);
        quietly(netns::close);
        quietly(() -> {
            try {
                Libc.umount2(scratch.toString(), Libc.MNT_DETACH | Libc.UMOUNT_NOFOLLOW);
            } catch (NativeException e) {
                if (e.errno() != Libc.EINVAL) { // EINVAL: not mounted any more
                    throw e;
                }
            }
            Files.deleteIfExists(scratch);
        });
        quietly(() -> Layout.deleteTree(runDir));
        node.closed(this);
    }

    private interface Step {
        void run() throws Exception;
    }

    private static void quietly(Step step) {
        try {
            step.run();
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "sandbox cleanup: " + e.getMessage(), e);
        }
    }

    private static void closeQuietly(ServerSocketChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            // closing a listener fails only if it was closed
        }
    }

    @Override
    public String toString() {
        return "sandbox of " + spec.id() + " (" + identity.function() + ", " + netns + ")";
    }
}
