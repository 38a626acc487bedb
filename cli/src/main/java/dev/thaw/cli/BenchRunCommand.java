package dev.thaw.cli;

import dev.thaw.bench.BenchRun;
import dev.thaw.bench.BenchRunSupport;
import dev.thaw.bench.RunConfig;
import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code thaw bench run CONFIG}: the configurable benchmark client (bench/README.md). */
@Command(name = "run", description = {
        "Runs the benchmark described by a YAML or JSON file: open or closed loop, fixed, Poisson or bursty",
        "arrivals, warm or cold steering, chains, sweeps. Writes requests.csv, stats.txt, stats.csv, report.html."})
final class BenchRunCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "CONFIG", description = "The scenario file (.yaml, .yml or .json).")
    Path config;

    @Option(names = "--output", paramLabel = "DIR",
            description = "Where the results go (default bench-results/<scenario name>).")
    Path output;

    @Option(names = "--seed", paramLabel = "N", description = "Overrides the config's seed.")
    Long seed;

    @Option(names = "--requests", paramLabel = "N", description = "Overrides load.requests (and drops durationS).")
    Integer requests;

    @Option(names = "--concurrency", paramLabel = "N", description = "Overrides load.concurrency.")
    Integer concurrency;

    @Option(names = "--repo", paramLabel = "DIR",
            description = "Relative JAR paths start here (default: the repository holding CONFIG, else the current directory).")
    Path repo;

    @Option(names = "--transfer-store", paramLabel = "IP:PORT",
            description = {"Where the transfer store of chain scenarios (transfer: store) listens. Sandboxed functions"
                    + " reach it through the node's egress proxy: give this host's address and a port, and start the"
                    + " node with --egress-allow IP:PORT. Default: a free port on 127.0.0.1 (nodes with --no-sandbox)."})
    String transferStore;

    @Override
    public Integer call() {
        RunConfig parsed;
        try {
            if (transferStore != null && !transferStore.matches("(\\[[0-9A-Fa-f:.]+\\]|[0-9.]+):[0-9]{1,5}")) {
                throw new IllegalArgumentException("--transfer-store takes IP:PORT (an IP literal, [v6] in brackets),"
                        + " not '" + transferStore + "'");
            }
            URI url = urlFlag();
            parsed = BenchRunSupport.load(config, url == null ? null : url.toString(), seed, requests, concurrency);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        Path root = repo != null ? repo : BenchRunSupport.repoRootOf(config);
        Path dir = output != null ? output : Path.of("bench-results", parsed.name() == null ? "run" : parsed.name());
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        try {
            String token = ((ThawCli) spec.root().userObject()).token(); // used for a thaw target only
            BenchRun.Result result = BenchRun.run(parsed, root, dir, out, err, transferStore, token);
            return result.ok() ? 0 : ErrorReporter.FAILED;
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** @return the inherited {@code --url} when it was given on the command line, else null (the config wins) */
    private URI urlFlag() {
        // --url is inherited from the root: it may have been matched at any level of the command line.
        for (CommandSpec level = spec; level != null; level = level.parent()) {
            var parsed = level.commandLine().getParseResult();
            if (parsed != null && parsed.hasMatchedOption("--url")) {
                return parsed.matchedOptionValue("--url", null);
            }
        }
        return null;
    }
}
