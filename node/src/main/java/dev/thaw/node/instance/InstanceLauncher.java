package dev.thaw.node.instance;

import dev.thaw.criu.Criu;
import dev.thaw.linux.NativeSpawn;
import dev.thaw.sandbox.InstanceSandbox;
import dev.thaw.sandbox.SandboxConfig;
import dev.thaw.node.function.Deployment;
import dev.thaw.node.snapshot.Snapshot;
import dev.thaw.protocol.RuntimeProtocol.Env;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Starts instance processes: by booting ({@code unshare --pid --fork --kill-child setsid java ...})
 * or by restoring a snapshot ({@code criu restore}).
 *
 * <p>Booted instances are the init of a new pid namespace and session leaders, which is what lets
 * CRIU restore many clones of one image at once (each gets a namespace of its own; see
 * docs/DESIGN.md). {@code --kill-child} ties the instance's life to its supervisor's.
 * The instance environment is built from scratch: the node's own environment (which may hold the
 * operator's secrets) never leaks into functions, and one function's variables never reach another.
 */
public final class InstanceLauncher {
    private static final System.Logger LOG = System.getLogger("thaw.node");
    /** Packages whose JDK-internal generators {@code Uniqueness} reseeds after a restore. */
    private static final List<String> OPENS = List.of("java.base/java.lang", "java.base/java.util",
            "java.base/java.util.concurrent", "java.base/java.net");

    private final Path java;
    private final Path javaHome;
    private final Path runtimeJar;
    private final Optional<Criu> criu;
    private final boolean namespaces;
    private final Path workRoot;

    public InstanceLauncher(Path javaHome, Path runtimeJar, Optional<Criu> criu, boolean namespaces, Path workRoot) {
        this.java = javaHome.resolve("bin/java");
        this.javaHome = javaHome;
        this.runtimeJar = runtimeJar.toAbsolutePath();
        this.criu = criu;
        this.namespaces = namespaces;
        this.workRoot = workRoot;
    }

    /**
     * Boots an instance.
     *
     * @param checkpoint whether the runtime should stop for a checkpoint after init
     * @param controlToken the token of the runtime's control lines
     */
    void boot(Instance instance, boolean checkpoint, String controlToken) throws IOException {
        Deployment d = instance.deployment;
        InstanceSandbox box = instance.sandbox;
        Paths where = box == null ? Paths.host(d, runtimeJar) : Paths.sandboxed(d, runtimeJar);
        boolean proxy = instance.egress != null;
        List<String> program = d.manifest().runtime().equals("provided")
                ? List.of(where.code() + "/" + dev.thaw.node.function.FunctionStore.BOOTSTRAP)
                : javaCommand(d, where, proxy);
        Map<String, String> env = environment(d, where, instance.runtimeApi, checkpoint, controlToken, proxy);
        if (box != null) {
            try (Pipe in = Pipe.open(); Pipe out = Pipe.open()) {
                Process p = NativeSpawn.spawner().spawn(box.boot(program, SandboxConfig.CODE_INSIDE).spawnRequest()
                        .environment(env).stdin(in.readEnd()).stdout(out.writeEnd()).stderr(out.writeEnd()).build());
                instance.attach(p, in, out, null);
            }
            return;
        }
        List<String> cmd = new ArrayList<>();
        if (namespaces) {
            cmd.addAll(List.of("unshare", "--pid", "--fork", "--kill-child", "setsid"));
        }
        cmd.addAll(program);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(d.codeDir().toFile());
        pb.environment().clear();
        pb.environment().putAll(env);
        try (Pipe in = Pipe.open(); Pipe out = Pipe.open()) {
            pb.redirectInput(in.readEnd().toFile());
            pb.redirectOutput(out.writeEnd().toFile());
            pb.redirectErrorStream(true);
            Process p = pb.start();
            instance.attach(p, in, out, null);
        }
    }

    /**
     * Restores a clone of {@code snapshot} into a new pid namespace. Every restore's lazy pages come
     * from a page server of thaw's listening in the instance's work directory (eager restores have
     * it stream all of them), and the caller sends the resume line once they are in: it waits in the
     * pipe until the clone reads it, right where the original stopped.
     *
     * @param imagesDir the image CRIU reads, without the pages the page server installs
     */
    void restore(Instance instance, Snapshot snapshot, Path imagesDir) throws IOException {
        Criu c = criu.orElseThrow(() -> new IllegalStateException("restore without CRIU"));
        Files.createDirectories(workDir(instance));
        String[] pipes = snapshot.pipes();
        if (!startParked(c, instance, imagesDir, pipes)) {
            spawn(c, instance, imagesDir, pipes);
        }
    }

    /** Starts the restore through a launcher (or CRIU) spawned now, with pipes of its own. */
    private void spawn(Criu c, Instance instance, Path imagesDir, String[] pipes) throws IOException {
        Path work = workDir(instance);
        try (Pipe in = Pipe.open(); Pipe out = Pipe.open()) {
            Criu.RestoreRequest req = new Criu.RestoreRequest(imagesDir, work, in.readEnd(), out.writeEnd(),
                    List.of(pipes[0], pipes[1]), true);
            InstanceSandbox box = instance.sandbox;
            Process p = box == null ? c.startRestore(req) : c.startRestore(req, box.restoreWrapper());
            instance.attach(p, in, out, req.pidFile());
        }
    }

    /**
     * Starts the restore through the launcher parked in the instance's spare sandbox, if it has one
     * that still waits.
     *
     * @return whether it did; false: spawn the launcher as usual
     */
    private boolean startParked(Criu c, Instance instance, Path imagesDir, String[] pipes)
            throws IOException {
        SpareSandbox.Prepared spare = instance.spare;
        ParkedLaunch parked = spare == null ? null : spare.parked();
        if (parked == null || instance.sandbox != spare.box() || !parked.claim()) {
            return false;
        }
        Criu.RestoreRequest req = new Criu.RestoreRequest(imagesDir, workDir(instance), parked.stdin().readEnd(),
                parked.stdout().writeEnd(), List.of(pipes[0], pipes[1]), true);
        Process p;
        try {
            p = parked.restore().start(c.restoreCommand(req, spare.box().restoreWrapper().options()));
        } catch (dev.thaw.sandbox.SandboxException e) {
            LOG.log(System.Logger.Level.WARNING, instance + ": spawning a restore launcher: " + e.getMessage());
            parked.abandon();
            return false;
        }
        instance.attach(p, parked.stdin(), parked.stdout(), req.pidFile());
        return true;
    }

    public Path workRoot() {
        return workRoot;
    }

    Path workDir(Instance instance) {
        return workDir(instance.id);
    }

    /** @return the work directory of the instance with this id (CRIU's log, pid file and stderr for a restore) */
    Path workDir(String instanceId) {
        return workRoot.resolve(instanceId);
    }

    /**
     * Where an instance finds things: the host's paths for an instance without a sandbox, its own
     * view inside one (code at /var/task, the runtime under /opt/thaw/runtime, /tmp its scratch).
     */
    record Paths(String code, String runtimeJar, String home, java.util.function.Function<Path, String> inside) {
        static Paths host(Deployment d, Path runtimeJar) {
            return new Paths(d.codeDir().toString(), runtimeJar.toString(), d.codeDir().toString(), Path::toString);
        }

        static Paths sandboxed(Deployment d, Path runtimeJar) {
            Path code = d.codeDir().toAbsolutePath().normalize();
            return new Paths(SandboxConfig.CODE_INSIDE, SandboxConfig.RUNTIME_INSIDE + "/" + runtimeJar.getFileName(),
                    SandboxConfig.SCRATCH_INSIDE, p -> {
                        Path abs = p.toAbsolutePath().normalize();
                        return abs.startsWith(code) ? SandboxConfig.CODE_INSIDE + (abs.equals(code) ? ""
                                : "/" + code.relativize(abs)) : abs.toString();
                    });
        }
    }

    /** The egress proxy as an instance reaches it: inside its own network namespace. */
    private static final String PROXY_HOST = "127.0.0.1";
    private static final String PROXY_URL = "http://" + PROXY_HOST + ":" + FunctionInstances.EGRESS_PROXY_PORT;
    /** What stays direct: the instance's own loopback, where its Runtime API is. */
    private static final String NO_PROXY = "localhost,127.0.0.1,::1";

    private List<String> javaCommand(Deployment d, Paths where, boolean proxy) {
        int heapMb = Math.max(64, d.manifest().memoryMb() * 3 / 4);
        List<String> cmd = new ArrayList<>(List.of(java.toString(),
                // one hsperfdata file per namespace pid 1 would be shared by every clone
                "-XX:-UsePerfData",
                // fewer GC threads and a heap that shrinks after the pre-checkpoint GC: smaller images
                "-XX:+UseSerialGC", "-Xms16m", "-Xmx" + heapMb + "m", "-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=20",
                "-XX:+ExitOnOutOfMemoryError", "--enable-native-access=ALL-UNNAMED",
                // map the CDS archive where it was built instead of relocating it: relocation dirties
                // ~14 MB of shared class data that CRIU would then copy into every image
                "-XX:+UnlockDiagnosticVMOptions", "-XX:ArchiveRelocationMode=0",
                "-Dorg.crac.Core.Compat=dev.thaw.runtime.crac",
                // the code's directory is read-only: a crash report goes to the instance's own /tmp
                "-XX:ErrorFile=/tmp/hs_err_pid%p.log"));
        for (String pkg : OPENS) {
            cmd.add("--add-opens=" + pkg + "=ALL-UNNAMED");
        }
        if (proxy) {
            // the JDK's default ProxySelector (HttpClient, URLConnection) reads these; the environment is for the rest
            String port = Integer.toString(FunctionInstances.EGRESS_PROXY_PORT);
            cmd.addAll(List.of("-Dhttp.proxyHost=" + PROXY_HOST, "-Dhttp.proxyPort=" + port, "-Dhttps.proxyHost=" + PROXY_HOST,
                    "-Dhttps.proxyPort=" + port, "-Dhttp.nonProxyHosts=localhost|127.*|[::1]"));
        }
        cmd.addAll(List.of("-cp", where.runtimeJar(), "dev.thaw.runtime.Main"));
        return cmd;
    }

    private Map<String, String> environment(Deployment d, Paths where, String runtimeApi, boolean checkpoint, String token,
                                            boolean proxy) {
        Map<String, String> env = new java.util.TreeMap<>(d.manifest().environment());
        env.put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        env.put("LANG", "C.UTF-8");
        env.put("TZ", "UTC");
        env.put("HOME", where.home());
        env.put("TMPDIR", "/tmp");
        env.put(Env.RUNTIME_API, runtimeApi);
        env.put(Env.NODE_URL, "http://" + runtimeApi + dev.thaw.protocol.RuntimeProtocol.Routes.NODE_API);
        env.put(Env.HANDLER, d.manifest().handler());
        env.put("JAVA_HOME", javaHome.toString()); // a custom runtime written in Java finds the node's JDK here
        env.put(Env.FUNCTION_NAME, d.name());
        env.put(Env.FUNCTION_VERSION, Long.toString(d.version()));
        env.put(Env.FUNCTION_MEMORY_SIZE, Integer.toString(d.manifest().memoryMb()));
        env.put(Env.TASK_ROOT, where.code());
        env.put(Env.INITIALIZATION_TYPE, checkpoint ? Env.INIT_SNAP_START : Env.INIT_ON_DEMAND);
        env.put(Env.CLASSPATH, d.classpath().stream().map(where.inside()).collect(Collectors.joining(File.pathSeparator)));
        env.put(Env.CHECKPOINT, checkpoint ? "1" : "0");
        env.put(Env.CONTROL_TOKEN, token);
        String freshen = d.manifest().scalingOrDefault().freshen();
        if (freshen != null) {
            env.put(Env.FRESHEN_METHOD, freshen);
        }
        var priming = d.manifest().priming();
        if (checkpoint && priming != null) {
            env.put(Env.PRIME_ROUNDS, Integer.toString(priming.rounds()));
            env.put(Env.PRIME_BUDGET_MS, Integer.toString(d.manifest().timeoutMs()));
        }
        if (proxy) {
            for (String name : List.of("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")) {
                env.put(name, PROXY_URL);
            }
            env.put("NO_PROXY", NO_PROXY);
            env.put("no_proxy", NO_PROXY);
        }
        return env;
    }
}
