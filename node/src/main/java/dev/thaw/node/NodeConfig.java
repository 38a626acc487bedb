package dev.thaw.node;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How a node runs. Build with {@link #builder()}; every setting has a sensible default.
 *
 * @param port public API port on 127.0.0.1 (default 8080; 0 picks a free port)
 * @param dataDir where deployments, snapshots and logs live (default {@code .thaw/data})
 * @param runtimeJar the thaw runtime JAR every Java instance runs
 * @param javaHome the JDK instances run on (default: the node's own)
 * @param criu the CRIU launcher, empty when snapshots are off
 * @param keepAlive how long an idle instance lives before it is retired (default 10 minutes)
 * @param queueLimit invocations that may wait per function when all instances are busy (default 100)
 * @param s3 the S3-compatible remote tier of the snapshot store; empty for an embedded S3 server
 * @param snapshotStore whether snapshots go to the durable store (default true); without it they live
 *     on this node only and are lost when it stops
 * @param store chunk size, encryption and tier bounds of the snapshot store
 * @param sandbox whether instances run in sandboxes of their own (default true; without root or kernel support the
 *     node runs them without one and says why)
 * @param openInvoke whether invocations need no API token (an explicit choice; everything else always needs one)
 * @param restoreMode how functions whose manifest does not say are restored: {@code eager},
 *     {@code lazy} or {@code reap} (default {@code eager})
 * @param drainGrace on shutdown, how long invocations already accepted may take to finish before what
 *     is left is answered with an error (default 30 s)
 * @param eventRetryDelay how long a failed asynchronous ({@code Event}) invocation waits before its
 *     first retry; the second waits twice as long (default 1 minute, Lambda's)
 * @param versionsKept how many of a function's latest versions stay invocable, besides those an
 *     alias points to (default 5)
 * @param cluster the cluster this node joins; empty for a node on its own (no etcd)
 * @param secrets files holding the node's secrets when they are given rather than made (the nodes of a
 *     cluster share them)
 * @param xdt expedited data transfers between functions: buffers, listener, identity
 * @param egressAllow what sandboxed instances may reach outside, through the node's egress proxy:
 *     patterns {@code host:port}, {@code *.suffix:port}, {@code host:*}, {@code *:port}, {@code *}
 *     (egress/README.md); empty (the default): nothing, and no proxy listens
 * @param scalingDefaults what a deploy through this node gets where its manifest says nothing: the
 *     maximum and minimum of instances and the target concurrency (default thaw's: 8, 0, 1)
 * @param predictions whether chains learned from the invocation history start clones and freshen calls
 *     ahead of predicted invocations (default on; declared chains, {@code --next}, always do): a
 *     benchmark of cold starts turns it off, since a function it invokes right after another would
 *     otherwise find a clone predicted for it
 * @param maxStarting at most this many instances of one function start at once for invocations that
 *     wait (default: the machine's cores, at least 2; 0: no bound); more start as the first come up,
 *     if invocations still wait then
 * @param freshenLimits how much freshen each function may have: calls per sliding window and the time
 *     of one call (default 10 per 60 s, 1 s each). The operator's, not the deployer's, since freshen
 *     runs at the platform's initiative and a higher limit is compute a function gets on every
 *     misprediction
 * @param warmSnapshotAfter once an instance of a function has served this many invocations, the
 *     function's snapshot is replaced, once per version, by one of that instance, so later clones start
 *     with what real invocations run compiled (default {@value #DEFAULT_WARM_SNAPSHOT_AFTER}; 0: never)
 */
public record NodeConfig(int port, Path dataDir, Path runtimeJar, Path javaHome, Optional<Path> criu,
                         Duration keepAlive, int queueLimit, Optional<dev.thaw.store.S3Config> s3, boolean snapshotStore,
                         StoreSettings store, dev.thaw.core.RestoreMode restoreMode, Duration drainGrace,
                         Duration eventRetryDelay, int versionsKept, boolean openInvoke, boolean sandbox,
                         Optional<ClusterSettings> cluster, SecretFiles secrets, XdtSettings xdt,
                         List<String> egressAllow, boolean predictions, dev.thaw.core.ScalingDefaults scalingDefaults,
                         int maxStarting, dev.thaw.scaling.FreshenLimits freshenLimits, int warmSnapshotAfter) {

    /**
     * Invocations one instance serves before its function's snapshot is replaced by one of it: about
     * what HotSpot's second tier needs to compile a method called once per invocation (its
     * threshold is 5,000 calls with a profile from the first tier).
     */
    public static final int DEFAULT_WARM_SNAPSHOT_AFTER = 5_000;

    /** The default bound on one function's concurrent starts: the machine's cores, at least 2. */
    public static final int DEFAULT_MAX_STARTING = Math.max(2, Runtime.getRuntime().availableProcessors());

    /**
     * Secrets given as files (each readable by the owner only) instead of created in the data
     * directory: the nodes of a cluster share the API token, the AWS access keys and the store's
     * secret, and receive them this way, never through etcd.
     *
     * @param apiToken the API token
     * @param awsCredentials the AWS shared-credentials file (profile {@code thaw})
     * @param storeSecret the snapshot store's encryption secret (32 bytes or more)
     */
    public record SecretFiles(Optional<Path> apiToken, Optional<Path> awsCredentials, Optional<Path> storeSecret) {
        /** None given: the node makes its own in its data directory. */
        public static final SecretFiles NONE = new SecretFiles(Optional.empty(), Optional.empty(), Optional.empty());

        public SecretFiles {
            apiToken = Objects.requireNonNull(apiToken, "apiToken").map(p -> p.toAbsolutePath().normalize());
            awsCredentials = Objects.requireNonNull(awsCredentials, "awsCredentials").map(p -> p.toAbsolutePath().normalize());
            storeSecret = Objects.requireNonNull(storeSecret, "storeSecret").map(p -> p.toAbsolutePath().normalize());
        }
    }

    public NodeConfig {
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(runtimeJar, "runtimeJar");
        Objects.requireNonNull(javaHome, "javaHome");
        Objects.requireNonNull(criu, "criu");
        Objects.requireNonNull(keepAlive, "keepAlive");
        Objects.requireNonNull(scalingDefaults, "scalingDefaults");
        Objects.requireNonNull(s3, "s3");
        Objects.requireNonNull(store, "store");
        // Every path the node keeps or hands to an instance is absolute: an instance runs in its
        // function's code directory, where a relative path would name something else.
        dataDir = dataDir.toAbsolutePath().normalize();
        runtimeJar = runtimeJar.toAbsolutePath().normalize();
        javaHome = javaHome.toAbsolutePath().normalize();
        criu = criu.map(p -> p.toAbsolutePath().normalize());
        Objects.requireNonNull(restoreMode, "restoreMode");
        Objects.requireNonNull(xdt, "xdt");
        if (port < 0 || port > 65_535) {
            throw new IllegalArgumentException("port must be 0-65535, got " + port);
        }
        if (maxStarting < 0) {
            throw new IllegalArgumentException("maxStarting must be >= 0, got " + maxStarting);
        }
        if (warmSnapshotAfter < 0) {
            throw new IllegalArgumentException("warmSnapshotAfter must be >= 0, got " + warmSnapshotAfter);
        }
        if (queueLimit < 0) {
            throw new IllegalArgumentException("queueLimit must be >= 0, got " + queueLimit);
        }
        Objects.requireNonNull(drainGrace, "drainGrace");
        Objects.requireNonNull(eventRetryDelay, "eventRetryDelay");
        if (drainGrace.isNegative()) {
            throw new IllegalArgumentException("drainGrace must not be negative, got " + drainGrace);
        }
        if (eventRetryDelay.isNegative()) {
            throw new IllegalArgumentException("eventRetryDelay must not be negative, got " + eventRetryDelay);
        }
        if (versionsKept < 1) {
            throw new IllegalArgumentException("versionsKept must be >= 1, got " + versionsKept);
        }
        Objects.requireNonNull(cluster, "cluster");
        Objects.requireNonNull(secrets, "secrets");
        egressAllow = List.copyOf(Objects.requireNonNull(egressAllow, "egressAllow"));
        dev.thaw.egress.EgressPolicy.allow(egressAllow); // a bad pattern is refused here, naming it
    }

    /** @return a builder with the defaults */
    public static Builder builder() {
        return new Builder();
    }

    /** Fluent builder for {@link NodeConfig}. */
    public static final class Builder {
        private int port = 8080;
        private Path dataDir = Path.of(".thaw", "data");
        private Path runtimeJar = Path.of(System.getProperty("thaw.runtime.jar", "runtime/target/thaw-runtime.jar"));
        private Path javaHome = Path.of(System.getProperty("java.home"));
        private Optional<Path> criu = Optional.ofNullable(System.getProperty("thaw.criu")).map(Path::of);
        private Duration keepAlive = Duration.ofMinutes(10);
        private int queueLimit = 100;
        private Optional<dev.thaw.store.S3Config> s3 = Optional.empty();
        private boolean snapshotStore = true;
        private StoreSettings store = StoreSettings.DEFAULT;
        private dev.thaw.core.RestoreMode restoreMode = dev.thaw.core.RestoreMode.EAGER;
        private boolean openInvoke;
        private boolean sandbox = true;
        private Duration drainGrace = Duration.ofSeconds(30);
        private Duration eventRetryDelay = Duration.ofMinutes(1);
        private int versionsKept = 5;
        private Optional<ClusterSettings> cluster = Optional.empty();
        private SecretFiles secrets = SecretFiles.NONE;
        private XdtSettings xdt = XdtSettings.DEFAULT;
        private List<String> egressAllow = List.of();
        private boolean predictions = true;
        private dev.thaw.core.ScalingDefaults scalingDefaults = dev.thaw.core.ScalingDefaults.THAW;
        private int maxStarting = DEFAULT_MAX_STARTING;
        private dev.thaw.scaling.FreshenLimits freshenLimits = dev.thaw.scaling.FreshenLimits.defaults();
        private int warmSnapshotAfter = DEFAULT_WARM_SNAPSHOT_AFTER;

        private Builder() {
        }

        public Builder port(int port) { this.port = port; return this; }
        public Builder dataDir(Path dataDir) { this.dataDir = dataDir; return this; }
        public Builder runtimeJar(Path runtimeJar) { this.runtimeJar = runtimeJar; return this; }
        public Builder javaHome(Path javaHome) { this.javaHome = javaHome; return this; }
        /** @param criu the CRIU launcher, or {@code null} to run without snapshots */
        public Builder criu(Path criu) { this.criu = Optional.ofNullable(criu); return this; }
        public Builder keepAlive(Duration keepAlive) { this.keepAlive = keepAlive; return this; }
        public Builder queueLimit(int queueLimit) { this.queueLimit = queueLimit; return this; }
        /** @param s3 an S3 endpoint and bucket for the store's remote tier, or {@code null} for the embedded one */
        public Builder s3(dev.thaw.store.S3Config s3) { this.s3 = Optional.ofNullable(s3); return this; }
        public Builder snapshotStore(boolean enabled) { this.snapshotStore = enabled; return this; }
        public Builder store(StoreSettings settings) { this.store = settings; return this; }
        /** @param mode the default for functions that do not choose */
        public Builder restoreMode(dev.thaw.core.RestoreMode mode) { this.restoreMode = mode; return this; }

        /**
         * @param mode {@code eager}, {@code lazy} or {@code reap}: the default for functions that do not choose
         * @throws IllegalArgumentException naming the bad value
         */
        public Builder restoreMode(String mode) { return restoreMode(dev.thaw.core.RestoreMode.parse(mode)); }
        /** @param grace how long accepted invocations may take to finish on shutdown */
        public Builder drainGrace(Duration grace) { this.drainGrace = grace; return this; }
        /** @param delay the wait before a failed Event invocation's first retry (the second waits twice as long) */
        public Builder eventRetryDelay(Duration delay) { this.eventRetryDelay = delay; return this; }
        /** @param kept how many latest versions of a function stay invocable, besides aliased ones */
        public Builder versionsKept(int kept) { this.versionsKept = kept; return this; }

        /** @param open whether local callers may invoke functions without the API token (default false) */
        public Builder openInvoke(boolean open) { this.openInvoke = open; return this; }

        /** @param on whether instances run in sandboxes of their own (default true) */
        public Builder sandbox(boolean on) { this.sandbox = on; return this; }

        /** @param settings the cluster to join, or {@code null} for a node on its own */
        public Builder cluster(ClusterSettings settings) { this.cluster = Optional.ofNullable(settings); return this; }

        /** @param files secrets given as files (a cluster's shared ones) */
        public Builder secrets(SecretFiles files) { this.secrets = files; return this; }

        /** @param settings how the node runs expedited data transfers */
        public Builder xdt(XdtSettings settings) { this.xdt = settings; return this; }

        /**
         * @param patterns what sandboxed instances may reach outside ({@code host:port}, {@code *.suffix:port},
         *     {@code host:*}, {@code *:port}, {@code *}); empty (the default) allows nothing
         */
        public Builder egressAllow(List<String> patterns) { this.egressAllow = List.copyOf(patterns); return this; }
        public Builder predictions(boolean on) { this.predictions = on; return this; }
        public Builder scalingDefaults(dev.thaw.core.ScalingDefaults defaults) { this.scalingDefaults = defaults; return this; }
        /** @param n at most this many instances of one function starting at once for waiting invocations (0: no bound) */
        public Builder maxStarting(int n) { this.maxStarting = n; return this; }
        /** @param limits freshen calls per window and the time of one call, for every function of this node */
        public Builder freshenLimits(dev.thaw.scaling.FreshenLimits limits) {
            this.freshenLimits = Objects.requireNonNull(limits, "freshenLimits");
            return this;
        }

        /** @param invocations served by one instance before its function's snapshot is replaced by one of it (0: never) */
        public Builder warmSnapshotAfter(int invocations) { this.warmSnapshotAfter = invocations; return this; }

        public NodeConfig build() {
            return new NodeConfig(port, dataDir, runtimeJar, javaHome, criu, keepAlive, queueLimit, s3, snapshotStore, store,
                    restoreMode, drainGrace, eventRetryDelay, versionsKept, openInvoke, sandbox, cluster, secrets, xdt,
                    egressAllow, predictions, scalingDefaults, maxStarting, freshenLimits, warmSnapshotAfter);
        }
    }
}
