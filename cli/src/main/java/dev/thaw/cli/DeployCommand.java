package dev.thaw.cli;

import dev.thaw.client.ThawClient;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.FunctionManifest;
import dev.thaw.node.NodeConfig;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code thaw deploy}: creates or replaces a function. */
@Command(name = "deploy", description = "Deploys (creates or replaces) a function.")
final class DeployCommand extends ClientCommand {

    @Parameters(index = "0", paramLabel = "NAME", description = "Function name.")
    String name;

    @Option(names = "--jar", required = true, paramLabel = "PATH",
            description = "The function's JAR (for --runtime provided: a zip holding bootstrap).")
    Path jar;

    @Option(names = "--handler", paramLabel = "H", description = "fully.qualified.Class::method (java runtime).")
    String handler;

    @Option(names = "--memory-mb", paramLabel = "N", description = "Memory limit in MB (node default 512).")
    Integer memoryMb;

    @Option(names = "--timeout-ms", paramLabel = "N", description = "Invocation timeout in ms (node default 30000).")
    Integer timeoutMs;

    @Option(names = "--env", paramLabel = "K=V", description = "Environment variable; repeat for more.")
    Map<String, String> environment;

    @Option(names = "--max-instances", paramLabel = "N", description = "Instance limit (node default 8).")
    Integer maxInstances;

    @Option(names = "--no-snapshots", description = "Cold starts boot instead of restoring a snapshot.")
    boolean noSnapshots;

    @Option(names = "--runtime", paramLabel = "java|provided", description = "java (default) or provided.")
    String runtime;

    @Option(names = "--restore-mode", paramLabel = "eager|lazy|reap",
            description = "How snapshots are restored: eager (whole image first), lazy (pages on fault), reap (the"
                    + " working set recorded once, prefetched after); default: the node's.")
    String restoreMode;

    @picocli.CommandLine.ArgGroup(exclusive = true)
    PrimingEvent primingEvent;

    @Option(names = "--min-instances", paramLabel = "N",
            description = "Instances kept with no traffic (default 0: scales to zero after the node's keep-alive).")
    Integer minInstances;

    @Option(names = "--target-concurrency", paramLabel = "C",
            description = "Invocations in flight per instance the autoscaler aims at (default 1, as Lambda).")
    Double targetConcurrency;

    @Option(names = "--prewarm", paramLabel = "N",
            description = "Pre-restored clones kept ready, waiting for work (default 0); refilled after each use.")
    Integer prewarm;

    @Option(names = "--next", paramLabel = "FUNCTION", split = ",",
            description = "Functions invoked after this one (a chain): they get a clone and their freshen hook runs"
                    + " when this one is invoked.")
    java.util.List<String> next;

    @Option(names = "--may-invoke", paramLabel = "FUNCTION", split = ",",
            description = {"Functions this one may invoke from inside its instances, through THAW_NODE_URL (the node's"
                    + " invoke API on the instance's own Runtime API listener); '*' for any. Default: none."})
    java.util.List<String> mayInvoke;

    @Option(names = "--freshen", paramLabel = "METHOD",
            description = "The handler's method the platform calls before a predicted invocation (for handlers that do"
                    + " not implement dev.thaw.api.Freshen).")
    String freshen;

    @Option(names = "--warm-snapshot-after", paramLabel = "N",
            description = {"Once one instance has served N invocations, replace the snapshot by one of it, so clones"
                    + " start with the invocation path compiled; 0: never (a handler that keeps one caller's data in"
                    + " memory, for example). Default: the node's (thaw up --warm-snapshot-after, "
                    + NodeConfig.DEFAULT_WARM_SNAPSHOT_AFTER + ")."})
    Integer warmSnapshotAfter;

    @Option(names = "--prime-rounds", paramLabel = "N",
            description = "How many priming invocations (default 10; needs --prime-data or --prime-file).")
    Integer primeRounds;

    /** The priming event: at most one of the two. */
    static final class PrimingEvent {
        @Option(names = "--prime-data", paramLabel = "JSON", description = {
                "Prime the function: before its snapshot, call the handler with this event (--prime-rounds times),"
                + " so clones start with its code loaded and compiled. Use an event without outside effects."})
        String data;

        @Option(names = "--prime-file", paramLabel = "PATH", description = "A file holding the priming event as JSON.")
        Path file;
    }

    @Override
    int run(ThawClient client) {
        var manifest = new FunctionManifest(name, handler, runtime, memoryMb, timeoutMs, environment, maxInstances,
                noSnapshots ? Boolean.FALSE : null, restoreMode).withPriming(priming()).withScaling(scaling())
                .withMayInvoke(mayInvoke).withWarmSnapshotAfter(warmSnapshotAfter);
        // Checked here so a bad flag fails before a large JAR is read and uploaded.
        manifest.validated();
        FunctionInfo info;
        try (Progress progress = cli().progress(err())) {
            // the rate counts from the first byte sent, not from reading and encoding the JAR before it
            java.util.concurrent.atomic.AtomicLong firstSent = new java.util.concurrent.atomic.AtomicLong(-1);
            info = client.deploy(manifest, jar, (sent, total) -> {
                firstSent.compareAndSet(-1, System.nanoTime());
                java.time.Duration uploading = java.time.Duration.ofNanos(System.nanoTime() - firstSent.get());
                if (sent < total) {
                    progress.show(upload(sent, total, uploading));
                } else {
                    progress.showNow(upload(sent, total, uploading));
                }
            });
        }
        out().println("deployed " + info.name() + " version " + info.version() + " (handler " + info.handler()
                + ", code " + size(info.codeSizeBytes()) + ")");
        if (info.snapshot() != null && "pending".equals(info.snapshot().state())) {
            out().println("its snapshot is being taken: the version boots now, ahead of its first invocation"
                    + " (thaw describe " + info.name() + " says when it is ready)");
        }
        return 0;
    }

    /** @return the scaling options given, or null when none was (the node's defaults) */
    private FunctionManifest.Scaling scaling() {
        if (minInstances == null && targetConcurrency == null && prewarm == null && next == null && freshen == null) {
            return null;
        }
        return new FunctionManifest.Scaling(minInstances, targetConcurrency, prewarm, next, freshen);
    }

    private FunctionManifest.Priming priming() {
        if (primingEvent == null) {
            if (primeRounds != null) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                        "--prime-rounds needs a priming event: --prime-data or --prime-file");
            }
            return null;
        }
        byte[] json = primingEvent.data != null ? primingEvent.data.getBytes(java.nio.charset.StandardCharsets.UTF_8)
                : InvokeCommand.read(primingEvent.file);
        if (!dev.thaw.core.Json.isValid(json)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    (primingEvent.data != null ? "--prime-data" : primingEvent.file.toString()) + " is not valid JSON");
        }
        try {
            return new FunctionManifest.Priming(dev.thaw.core.Json.mapper().readTree(json), primeRounds);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e); // cannot happen: checked valid above
        }
    }

    /**
     * @param elapsed time since the upload's first byte
     * @return e.g. {@code uploading hello.jar: 12.0 MiB of 64.0 MiB (19 %), 8.5 MiB/s}, then, once all
     *     is sent, what the node does before it answers
     */
    private String upload(long sent, long total, java.time.Duration elapsed) {
        double seconds = Math.max(elapsed.toNanos() / 1e9, 1e-3);
        if (sent >= total) {
            return String.format(Locale.ROOT, "uploaded %s in %.1f s; the node is checking and unpacking %s…", size(total),
                    seconds, jar.getFileName());
        }
        return String.format(Locale.ROOT, "uploading %s: %s of %s (%d %%), %s/s", jar.getFileName(), size(sent), size(total),
                total == 0 ? 100 : sent * 100 / total, size((long) (sent / seconds)));
    }

    /** @return e.g. {@code 812 B}, {@code 4.6 KiB}, {@code 12.0 MiB} */
    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        if (bytes < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
        }
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024));
    }
}
