package dev.thaw.cli;

import dev.thaw.bench.BenchReport;
import dev.thaw.bench.NodeLauncher;
import dev.thaw.bench.RestoreBenchOptions;
import dev.thaw.bench.RestoreBenchmark;
import dev.thaw.bench.StoreVariant;
import dev.thaw.client.ThawClient;
import dev.thaw.node.Node;
import dev.thaw.node.NodeConfig;
import dev.thaw.node.StoreSettings;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code thaw bench restore}: restores from every place a snapshot lives, for several store
 * configurations and restore modes. It starts its own nodes (one per store variant, in this
 * process, on free ports and throw-away data directories), so that the variants differ only in
 * what is measured.
 */
@Command(name = "restore", description = {
        "Measures restore to first response of the example functions from the node's working copy (the plain",
        "directory baseline) and from the snapshot store's memory, disk and S3 tiers, per store variant (chunk size,",
        "encryption) and restore mode, as ratios measured in one run; and the store's deduplication. Starts its own",
        "nodes; needs CRIU (run as root) and the built examples."})
final class RestoreBenchCommand implements Callable<Integer>, ThawCli.LocalCommand {

    @Spec
    CommandSpec spec;

    @Option(names = "--functions", split = ",", paramLabel = "NAMES",
            defaultValue = "hello,json-transform,lambda-handler,spring-boot",
            description = "Example functions (default ${DEFAULT-VALUE}).")
    List<String> functions;

    @Option(names = "--variants", split = ",", paramLabel = "VARIANTS",
            defaultValue = "enc-512k,plain-512k,enc-64k,plain-64k,enc-2m,plain-2m",
            description = "Node variants: enc|plain - chunk size, optionally -nosandbox for instances without sandboxes"
                    + " (default ${DEFAULT-VALUE}).")
    List<String> variants;

    @Option(names = "--modes", split = ",", paramLabel = "MODES", defaultValue = "eager",
            description = "Restore modes: eager, lazy, reap (default ${DEFAULT-VALUE}).")
    List<String> modes;

    @Option(names = "--sources", split = ",", paramLabel = "SOURCES", defaultValue = "local,memory,disk,s3",
            description = "Where images come from: local (working copy), memory, disk, s3 (default ${DEFAULT-VALUE}).")
    List<String> sources;

    @Option(names = "--repeat", defaultValue = "10", paramLabel = "N", description = "Cold starts per cell (default ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--interleave", description = {"Run every variant's node for the whole run and take each cell's"
            + " restores in turns, one per variant (ratios between variants then do not depend on when each ran);"
            + " by default one variant runs after the other, each with the machine to itself."})
    boolean interleave;

    @Option(names = "--no-dedup", description = "Skip the deduplication measurements (they boot a second build of each function).")
    boolean noDedup;

    @Option(names = "--output", defaultValue = "bench-results/restore", paramLabel = "DIR",
            description = "Where the CSV files go (default ${DEFAULT-VALUE}).")
    Path output;

    @Option(names = "--examples-dir", defaultValue = "examples", paramLabel = "DIR",
            description = "Directory of the built examples (default ${DEFAULT-VALUE}).")
    Path examplesDir;

    @Option(names = "--prime-rounds", defaultValue = "0", paramLabel = "N",
            description = "Deploy every function primed (thaw deploy --prime-data) with N calls of its own benchmark"
                    + " event before its snapshot (default ${DEFAULT-VALUE}: unprimed).")
    int primeRounds;

    @Option(names = "--store-no-warm-up", description = "Nodes do not compile the embedded S3 read path at start"
            + " (as thaw up --store-no-warm-up): measures what the warm-up buys.")
    boolean noWarmUp;

    @Option(names = "--bare-criu", description = {"After each working-copy eager restore of a -nosandbox variant, a bare"
            + " criu restore -d of the same working copy (the node's CRIU and options, no thaw code), reported beside"
            + " thaw's restore phase and first response: what a cold start costs beyond CRIU."})
    boolean bareCriu;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            RestoreBenchOptions options = options();
            BareCriuRestore bare = null;
            if (bareCriu) {
                java.util.Optional<Path> criu = NodeConfig.builder().build().criu();
                if (criu.isEmpty() || options.variants().stream().allMatch(StoreVariant::sandbox)) {
                    throw new ParameterException(spec.commandLine(), "--bare-criu needs CRIU (thaw.criu; ./thaw sets it)"
                            + " and a variant without sandboxes (e.g. --variants enc-512k,enc-512k-nosandbox): a"
                            + " sandboxed image is restored only inside the launcher's namespaces");
                }
                bare = new BareCriuRestore(criu.get());
            }
            BenchReport report = RestoreBenchmark.create((v, dir) -> startNode(v, dir, !noWarmUp), options, out, err,
                    bare).run();
            report.failures().forEach(f -> err.println("error: " + f));
            return report.ok() ? 0 : ErrorReporter.FAILED;
        } finally {
            out.flush();
            err.flush();
        }
    }

    private RestoreBenchOptions options() {
        try {
            List<StoreVariant> parsed = variants.stream().map(StoreVariant::parse).toList();
            return new RestoreBenchOptions(functions, parsed, modes, sources, repeats, !noDedup, output, examplesDir,
                    primeRounds, interleave);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /**
     * A node on a free port whose memory tier holds every snapshot of the run, so that the memory
     * source measures the memory tier and not its eviction policy.
     */
    private static NodeLauncher.RunningNode startNode(StoreVariant v, Path dataDir, boolean warmUp) {
        StoreSettings store = StoreSettings.DEFAULT.withChunkSize(v.chunkKib() * 1024).withEncryption(v.encryption())
                .withMemoryBytes(3L << 30).withWarmUpReads(warmUp);
        // no learned predictions: the benchmark invokes its functions in turns, and each would find a clone
        // predicted for it where a cold start is to be measured
        Node node = Node.start(NodeConfig.builder().port(0).dataDir(dataDir).store(store).sandbox(v.sandbox()).predictions(false)
                .build());
        ThawClient client = ThawClient.create(node.uri(), node.apiToken(), Duration.ofMinutes(5));
        return new NodeLauncher.RunningNode() {
            @Override
            public ThawClient client() {
                return client;
            }

            @Override
            public void close() {
                client.close();
                node.close();
            }
        };
    }
}
