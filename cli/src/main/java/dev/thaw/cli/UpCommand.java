package dev.thaw.cli;

import dev.thaw.node.Node;
import dev.thaw.node.NodeConfig;
import dev.thaw.node.StoreSettings;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code thaw up}: runs a node in the foreground until Ctrl-C. */
@Command(name = "up", description = {"Starts a node in the foreground; Ctrl-C stops it and its instances.",
        "The runtime JAR and CRIU come from the system properties thaw.runtime.jar and thaw.criu."})
final class UpCommand implements Callable<Integer>, ThawCli.LocalCommand {

    @Spec
    CommandSpec spec;

    @Option(names = "--port", defaultValue = "8080", description = "Port on 127.0.0.1 (default ${DEFAULT-VALUE}; 0 picks one).")
    int port;

    @Option(names = "--data-dir", defaultValue = ".thaw/data", description = "Deployments, snapshots and logs (default ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(names = "--keep-alive-s", defaultValue = "600", description = "Seconds an idle instance lives (default ${DEFAULT-VALUE}).")
    long keepAliveSeconds;

    @Option(names = "--default-max-instances", defaultValue = "8", paramLabel = "N",
            description = "Most instances of a function deployed through this node without --max-instances (default ${DEFAULT-VALUE}).")
    int defaultMaxInstances;

    @Option(names = "--default-min-instances", defaultValue = "0", paramLabel = "N",
            description = "Instances kept of a function deployed through this node without --min-instances (default ${DEFAULT-VALUE}).")
    int defaultMinInstances;

    @Option(names = "--default-target-concurrency", defaultValue = "1", paramLabel = "C",
            description = "Target concurrency per instance of a function deployed through this node without "
                    + "--target-concurrency (default ${DEFAULT-VALUE}, as Lambda).")
    double defaultTargetConcurrency;

    @Option(names = "--s3-endpoint", paramLabel = "URL",
            description = "S3-compatible endpoint of the snapshot store's remote tier (default: an embedded S3 server in the data dir).")
    java.net.URI s3Endpoint;

    @Option(names = "--s3-bucket", paramLabel = "BUCKET", defaultValue = "thaw-snapshots",
            description = "Bucket of the remote tier (default ${DEFAULT-VALUE}); with --s3-endpoint.")
    String s3Bucket;

    @Option(names = "--s3-region", defaultValue = "us-east-1", description = "Region of the remote tier (default ${DEFAULT-VALUE}).")
    String s3Region;

    @Option(names = "--s3-prefix", defaultValue = "", description = "Key prefix inside the bucket (default none).")
    String s3Prefix;

    @Option(names = "--no-snapshot-store", description = "Keep snapshots on this node only (lost when it stops).")
    boolean noSnapshotStore;

    @Option(names = "--store-chunk-kib", defaultValue = "512", paramLabel = "KIB",
            description = "Chunk size of the snapshot store in KiB, a multiple of 4 (default ${DEFAULT-VALUE}).")
    int chunkKib;

    @Option(names = "--store-memory-mib", defaultValue = "512", paramLabel = "MIB",
            description = "Bound of the store's memory tier in MiB; 0 disables it (default ${DEFAULT-VALUE}).")
    long memoryMib;

    @Option(names = "--store-disk-gib", defaultValue = "8", paramLabel = "GIB",
            description = "Bound of the store's disk tier in GiB (default ${DEFAULT-VALUE}).")
    long diskGib;

    @Option(names = "--restore-mode", defaultValue = "eager", paramLabel = "eager|lazy|reap",
            description = "Restore mode of functions that do not choose one (default ${DEFAULT-VALUE}).")
    String restoreMode;

    @Option(names = "--store-no-encryption", description = "Store chunks unencrypted (only to measure what encryption"
            + " costs; manifests stay encrypted).")
    boolean noEncryption;

    @Option(names = "--no-sandbox", description = "Run instances without a sandbox (as root, in the node's namespaces,"
            + " without limits): only for a node whose functions are all trusted.")
    boolean noSandbox;

    @Option(names = "--egress-allow", split = ",", paramLabel = "PATTERN",
            description = "What sandboxed instances may reach outside, through a proxy the node serves in each instance's"
                    + " network namespace: host:port, *.suffix:port, host:*, *:port or * (anything public); comma-separated"
                    + " or repeated. Loopback, link-local, metadata and this host's own addresses only as an exact ip:port;"
                    + " private addresses only through a pattern naming the host or address. Default: nothing.")
    java.util.List<String> egressAllow = new java.util.ArrayList<>();

    @Option(names = "--no-predictions", description = {"Chains learned from the invocation history start no clones"
            + " and no freshen calls (declared ones, deploy --next, still do); for cold-start benchmarks."})
    boolean noPredictions;

    @Option(names = "--max-starting", paramLabel = "N", description = {"At most N instances of one function start at"
            + " once for invocations that wait; more start as the first come up, if invocations still wait then"
            + " (default: this machine's cores, at least 2; 0: no bound)."})
    Integer maxStarting;

    @Option(names = "--warm-snapshot-after", paramLabel = "N", description = {"Once an instance of a function has"
            + " served N invocations, replace the function's snapshot (once per version) with one of that instance,"
            + " so later clones start with what real invocations run already compiled (default: "
            + NodeConfig.DEFAULT_WARM_SNAPSHOT_AFTER + "; 0: never). The snapshot then holds what the handler"
            + " kept in memory from those invocations."})
    Integer warmSnapshotAfter;

    @Option(names = "--freshen-max-calls", defaultValue = "10", paramLabel = "N",
            description = {"Freshen calls each function may have in any window of --freshen-window-s (default"
                    + " ${DEFAULT-VALUE}; 0 turns freshen off; at most 10000). Freshen runs at the platform's initiative,"
                    + " before predicted invocations: what a function's hook does is compute it gets on every misprediction."})
    int freshenMaxCalls;

    @Option(names = "--freshen-window-s", defaultValue = "60", paramLabel = "S",
            description = "The sliding window of --freshen-max-calls, in seconds (default ${DEFAULT-VALUE}; at most 3600).")
    long freshenWindowSeconds;

    @Option(names = "--freshen-max-ms", defaultValue = "1000", paramLabel = "MS",
            description = "How long one freshen call may run before it is cut off (default ${DEFAULT-VALUE}).")
    long freshenMaxMs;

    @Option(names = "--open-invoke", description = "Let local callers invoke functions without the API token"
            + " (everything else still needs it). Off by default.")
    boolean openInvoke;

    @Option(names = "--store-no-warm-up", description = "Do not compile the read path of the embedded S3 server at start"
            + " (by default ~4,000 GETs of throw-away chunks in the background, so that a fresh node's first restores"
            + " from S3 do not pay for the JIT).")
    boolean noWarmUp;

    @Option(names = "--drain-grace-s", defaultValue = "30", paramLabel = "S",
            description = "On shutdown (Ctrl-C, SIGTERM), seconds accepted invocations may take to finish before what is"
                    + " left is answered with an error (default ${DEFAULT-VALUE}).")
    long drainGraceSeconds;

    @Option(names = "--event-retry-delay-ms", defaultValue = "60000", paramLabel = "MS",
            description = "Wait before the first retry of a failed Event invocation; the second waits twice as long"
                    + " (default ${DEFAULT-VALUE}: Lambda's 1 then 2 minutes).")
    long eventRetryDelayMs;
    @Option(names = "--xdt-memory-mib", defaultValue = "512", paramLabel = "MIB",
            description = "Memory that data put for other functions (XDT) may hold, in MiB (default ${DEFAULT-VALUE}).")
    long xdtMemoryMib;

    @Option(names = "--xdt-disk-mib", defaultValue = "8192", paramLabel = "MIB",
            description = "Disk that XDT data may spill to once its memory is full, in MiB (default ${DEFAULT-VALUE});"
                    + " a put that fits in neither is refused.")
    long xdtDiskMib;

    @Option(names = "--xdt-max-ttl-s", defaultValue = "3600", paramLabel = "S",
            description = "Longest time to live an XDT put may ask for, in seconds (default ${DEFAULT-VALUE}).")
    long xdtMaxTtlSeconds;

    @Option(names = "--xdt-listen", defaultValue = "127.0.0.1:0", paramLabel = "HOST:PORT",
            description = "Where other nodes pull XDT data from this one (default ${DEFAULT-VALUE}: this machine only, any port).")
    String xdtListen;

    @Option(names = "--xdt-advertise", paramLabel = "HOST:PORT",
            description = "The address other nodes reach --xdt-listen at, when it is not the one bound (behind NAT, 0.0.0.0).")
    String xdtAdvertise;

    @Option(names = "--xdt-key-file", paramLabel = "FILE",
            description = "The cluster's transfer key, the same file on every node (default: DATA_DIR/xdt.key, created on"
                    + " first start); owner-only.")
    Path xdtKeyFile;

    @Option(names = "--xdt-peer", paramLabel = "ID=HOST:PORT",
            description = "Another node's XDT listener, by node id (repeatable): a fixed directory of peers.")
    java.util.Map<String, String> xdtPeers = new java.util.LinkedHashMap<>();

    @Option(names = "--node-id", paramLabel = "ID",
            description = "This node's id: in its cluster (required with --cluster) and in XDT references (default:"
                    + " generated on first start, kept in DATA_DIR/node-id).")
    String nodeId;

    @Option(names = "--cluster", paramLabel = "ETCD_ENDPOINTS",
            description = "Join the cluster coordinated by etcd at these endpoints (comma-separated http://host:port);"
                    + " deploys, snapshots and invocations are then cluster-wide. Needs --node-id and a shared"
                    + " --s3-endpoint, and the cluster's --store-secret-file and --api-token-file.")
    String clusterEndpoints;

    @Option(names = "--cluster-name", defaultValue = "default", paramLabel = "NAME",
            description = "The cluster's name: its keys in etcd live under /thaw/NAME/ (default ${DEFAULT-VALUE}).")
    String clusterName;

    @Option(names = "--advertise", paramLabel = "URL",
            description = "The address other nodes forward invocations to (default: http://127.0.0.1:PORT).")
    java.net.URI advertise;

    @Option(names = "--capacity", defaultValue = "16", paramLabel = "N",
            description = "Instances this node runs at once before placement prefers other nodes (default ${DEFAULT-VALUE}).")
    int capacity;

    @Option(names = "--lease-ttl-s", defaultValue = "5", paramLabel = "S",
            description = "Seconds until the cluster sees this node gone when it dies (default ${DEFAULT-VALUE}).")
    int leaseTtlSeconds;

    @Option(names = "--api-token-file", paramLabel = "FILE",
            description = "The API token (owner-only file), instead of DATA_DIR/api-token: the cluster's, shared by its nodes.")
    Path apiTokenFile;

    @Option(names = "--aws-credentials-file", paramLabel = "FILE",
            description = "The AWS access keys (profile thaw) that sign Lambda-path requests, instead of DATA_DIR/aws-credentials.")
    Path awsCredentialsFile;

    @Option(names = "--store-secret-file", paramLabel = "FILE",
            description = "The snapshot store's encryption secret, instead of DATA_DIR/store.secret: the cluster's, shared"
                    + " by its nodes (a node with another refuses to serve snapshots).")
    Path storeSecretFile;

    @Option(names = "--exit-with-stdin", hidden = true,
            description = "Shut down when standard input ends (thaw cluster up: its nodes go when it does).")
    boolean exitWithStdin;

    /** A usage error naming the flag, where the node's own check would name its setting instead. */
    private void requireOption(boolean valid, String message) {
        if (!valid) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), message);
        }
    }

    @Override
    public Integer call() throws InterruptedException {
        requireOption(maxStarting == null || maxStarting >= 0,
                "--max-starting must be 0 (no bound) or more, not " + maxStarting);
        requireOption(warmSnapshotAfter == null || warmSnapshotAfter >= 0,
                "--warm-snapshot-after must be 0 (never) or more, not " + warmSnapshotAfter);
        int maxCalls = dev.thaw.scaling.FreshenLimits.MAX_CALLS;
        long maxWindowSeconds = dev.thaw.scaling.FreshenLimits.MAX_WINDOW.toSeconds();
        requireOption(freshenMaxCalls >= 0 && freshenMaxCalls <= maxCalls,
                "--freshen-max-calls must be between 0 and " + maxCalls + ", not " + freshenMaxCalls);
        requireOption(freshenWindowSeconds > 0 && freshenWindowSeconds <= maxWindowSeconds,
                "--freshen-window-s must be between 1 and " + maxWindowSeconds + ", not " + freshenWindowSeconds);
        requireOption(freshenMaxMs > 0, "--freshen-max-ms must be positive, not " + freshenMaxMs);
        NodeConfig config;
        try {
            config = NodeConfig.builder()
                .port(port)
                .dataDir(dataDir)
                .keepAlive(Duration.ofSeconds(keepAliveSeconds))
                .s3(remoteTier())
                .snapshotStore(!noSnapshotStore)
                .store(storeSettings())
                .restoreMode(restoreMode)
                .openInvoke(openInvoke)
                .sandbox(!noSandbox)
                .egressAllow(egressAllow)
                .predictions(!noPredictions)
                .maxStarting(maxStarting == null ? NodeConfig.DEFAULT_MAX_STARTING : maxStarting)
                .warmSnapshotAfter(warmSnapshotAfter == null ? NodeConfig.DEFAULT_WARM_SNAPSHOT_AFTER : warmSnapshotAfter)
                .freshenLimits(new dev.thaw.scaling.FreshenLimits(freshenMaxCalls, Duration.ofSeconds(freshenWindowSeconds),
                        Duration.ofMillis(freshenMaxMs)))
                .scalingDefaults(new dev.thaw.core.ScalingDefaults(defaultMaxInstances, defaultMinInstances,
                        defaultTargetConcurrency))
                .drainGrace(Duration.ofSeconds(drainGraceSeconds))
                .eventRetryDelay(Duration.ofMillis(eventRetryDelayMs))
                .xdt(xdtSettings())
                .cluster(clusterSettings())
                .secrets(new NodeConfig.SecretFiles(java.util.Optional.ofNullable(apiTokenFile),
                        java.util.Optional.ofNullable(awsCredentialsFile), java.util.Optional.ofNullable(storeSecretFile)))
                .build();
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        Node node = Node.start(config);
        // Ctrl-C and SIGTERM run shutdown hooks, not finally blocks: the hook drains the node (accepted
        // invocations finish, within --drain-grace-s) and stops the instances. The node's web servers
        // have no hook of their own, which would stop them under the drain.
        Runtime.getRuntime().addShutdownHook(new Thread(node::close, "thaw-shutdown"));
        PrintWriter out = spec.commandLine().getOut();
        out.println("thaw node listening on " + node.uri());
        out.println("snapshots: " + node.snapshotStatus());
        out.println("sandbox: " + node.sandboxStatus());
        out.println("egress: " + node.egressStatus());
        if (!node.cleanedAtStart().isEmpty()) {
            out.println("cleaned what a node killed on this data directory left: " + node.cleanedAtStart());
        }
        out.println("API token: " + config.secrets().apiToken().orElse(config.dataDir().resolve("api-token"))
                + " (the thaw CLI reads it from there when run"
                + " from this directory, or from THAW_TOKEN); AWS CLI and SDK credentials: profile thaw in "
                + node.awsCredentialsFile());
        if (openInvoke) {
            out.println("invocations need no API token (--open-invoke)");
        }
        out.println("transfers (XDT): node " + node.nodeId() + ", other nodes pull from " + node.transferAddress());
        config.cluster().ifPresent(c -> out.println("cluster: " + c.name() + " as node " + c.nodeId() + " (etcd "
                + c.etcd().stream().map(Object::toString).collect(java.util.stream.Collectors.joining(",")) + ")"));
        out.println("press Ctrl-C to stop");
        out.flush();
        if (exitWithStdin) {
            Thread.ofPlatform().daemon().name("thaw-stdin-watch").start(() -> {
                try {
                    while (System.in.read() >= 0) {
                        // the parent holds the other end; it closes when the parent goes
                    }
                } catch (java.io.IOException e) {
                    // gone
                }
                System.exit(0); // runs the shutdown hook: the node drains and stops its instances
            });
        }
        node.awaitClose();
        return 0;
    }

    private dev.thaw.node.ClusterSettings clusterSettings() {
        if (clusterEndpoints == null) {
            return null;
        }
        if (nodeId == null) {
            throw new IllegalArgumentException("--cluster needs --node-id: the node's id, unique in the cluster");
        }
        return dev.thaw.node.ClusterSettings.of(clusterEndpoints, nodeId).withName(clusterName).withAdvertise(advertise)
                .withCapacity(capacity).withLeaseTtl(Duration.ofSeconds(leaseTtlSeconds));
    }

    private dev.thaw.node.XdtSettings xdtSettings() {
        int colon = xdtListen.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("--xdt-listen must be HOST:PORT, not '" + xdtListen + "'");
        }
        int listenPort;
        try {
            listenPort = Integer.parseInt(xdtListen.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--xdt-listen must be HOST:PORT, not '" + xdtListen + "'");
        }
        return dev.thaw.node.XdtSettings.DEFAULT
                .withBuffers(Math.multiplyExact(xdtMemoryMib, 1L << 20), Math.multiplyExact(xdtDiskMib, 1L << 20))
                .withMaxTtl(Duration.ofSeconds(xdtMaxTtlSeconds))
                .withListen(xdtListen.substring(0, colon), listenPort)
                .withAdvertise(xdtAdvertise)
                .withKeyFile(xdtKeyFile == null ? null : xdtKeyFile.toAbsolutePath())
                .withPeers(xdtPeers)
                .withNodeId(nodeId);
    }

    private StoreSettings storeSettings() {
        try {
            return new StoreSettings(Math.multiplyExact(chunkKib, 1024), !noEncryption, memoryMib << 20, diskGib << 30,
                    !noWarmUp);
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /**
     * The remote tier named on the command line. Credentials come from the environment
     * ({@code THAW_S3_ACCESS_KEY}, {@code THAW_S3_SECRET_KEY}), never from flags, which every user of
     * the machine can read in the process list.
     */
    private dev.thaw.store.S3Config remoteTier() {
        if (s3Endpoint == null) {
            return null;
        }
        String access = System.getenv("THAW_S3_ACCESS_KEY");
        String secret = System.getenv("THAW_S3_SECRET_KEY");
        if (access == null || secret == null) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--s3-endpoint needs the credentials in THAW_S3_ACCESS_KEY and THAW_S3_SECRET_KEY");
        }
        try {
            return new dev.thaw.store.S3Config(s3Endpoint, s3Region, s3Bucket, s3Prefix, access, secret);
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }
}
