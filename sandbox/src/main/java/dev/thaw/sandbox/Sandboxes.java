package dev.thaw.sandbox;

/**
 * A node's sandboxes: one per node and data directory. Opening one locks the data directory,
 * sweeps what a dead node left under it, and prepares what every instance shares (the launcher,
 * the skeleton root, the node's lifeline, the cgroup parents); {@link #create} then sandboxes one
 * instance at a time.
 *
 * <pre>{@code
 * SandboxStatus status = Sandboxes.probe(config);       // for thaw up: status.enforcement()
 * try (Sandboxes sandboxes = Sandboxes.open(config)) {   // logs sandboxes.swept()
 *     InstanceSandbox box = sandboxes.create(new InstanceSpec("i-1", "hello", 512, codeDir));
 *     ServerSocketChannel api = box.openListener(9001);  // the Runtime API, inside its namespace
 *     Process p = NativeSpawn.spawner().spawn(box.boot(javaCommand, "/var/task").spawnRequest()
 *             .environment(env).stdin(in).stdout(out).stderr(out).build());
 *     ...
 *     box.close();                                       // kills what is left, removes it all
 * }
 * }</pre>
 */
public interface Sandboxes extends AutoCloseable {

    /**
     * Says whether instances can be sandboxed here and what would be enforced, without locking
     * anything (it extracts and runs the launcher's self-check).
     */
    static SandboxStatus probe(SandboxConfig config) {
        return NodeSandboxes.probe(config);
    }

    /**
     * Opens the node's sandboxes: takes an exclusive lock on {@code dataDir/sandbox.lock}, sweeps
     * what a dead node left (see {@link #swept()}), extracts the launcher, builds the skeleton root.
     *
     * @throws SandboxException when another live process holds the data directory, or the sandbox
     *     is not available here (the message is {@link #probe}'s reason)
     */
    static Sandboxes open(SandboxConfig config) {
        return NodeSandboxes.open(config);
    }

    /**
     * Cleans up after a node of this data directory that died without stopping (SIGKILL) and will
     * not be started again: what {@link #open} would sweep (instance cgroups and what still runs in
     * them, scratch mounts, work directories), without opening anything. A node that starts again on
     * the directory does this itself.
     *
     * @throws SandboxException when a live node holds the data directory
     */
    static SweepReport sweepAfterDeadNode(SandboxConfig config) {
        return NodeSandboxes.sweepAfterDeadNode(config);
    }

    /** @return what is enforced here (as {@link #probe} says) */
    SandboxStatus status();

    /**
     * @return the key every host-side artifact of the node with this data directory is named after
     *     (its cgroups are {@code /thaw/<key>/…} in each hierarchy): what a test or an operator looks
     *     for to find what a node left
     */
    static String nodeKey(java.nio.file.Path dataDir) {
        return NodeSandboxes.key(dataDir);
    }

    /**
     * @return what opening cleaned up after an earlier node on the same data directory: instance
     *     cgroups (and processes still in them), scratch mounts, work directories
     */
    SweepReport swept();

    /**
     * The host ids of a function's instances: allocated the first time the function is named,
     * persisted in the data directory, never given to another function (also not after the
     * function is deleted).
     *
     * @throws SandboxException when the range is exhausted or the allocation cannot be saved
     */
    FunctionIdentity identity(String function);

    /**
     * Sandboxes one instance: its cgroup with limits, its network namespace (loopback up), its
     * scratch ({@code /tmp}, a tmpfs with a size bound).
     *
     * @throws SandboxException when one of them cannot be made, or {@code spec.id()} is in use
     */
    InstanceSandbox create(InstanceSpec spec);

    /**
     * Closes every instance sandbox still open (killing what runs in them), then releases the
     * lock. Every launcher sees the node's lifeline break and kills its instance.
     */
    @Override
    void close();
}
