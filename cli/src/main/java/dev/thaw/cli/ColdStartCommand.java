package dev.thaw.cli;

import dev.thaw.bench.BenchOptions;
import dev.thaw.bench.BenchReport;
import dev.thaw.bench.ColdStartBenchmark;
import dev.thaw.client.ThawClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code thaw bench cold-start}: boot vs restore vs warm latency of the example functions. */
@Command(name = "cold-start", description = {
        "Measures boot-to-first-response, restore-to-first-response and warm latency of the example functions.",
        "Needs a running node and the built examples; writes per-request and summary CSV files."})
final class ColdStartCommand extends ClientCommand {

    @Option(names = "--functions", split = ",", paramLabel = "NAMES",
            defaultValue = "hello,json-transform,lambda-handler,spring-boot,spring-boot-c1",
            description = "Comma-separated example functions (default ${DEFAULT-VALUE}).")
    List<String> functions;

    @Option(names = "--cold", defaultValue = "20", paramLabel = "N", description = "Cold starts per series (default ${DEFAULT-VALUE}).")
    int cold;

    @Option(names = "--warm", defaultValue = "50", paramLabel = "N", description = "Warm invocations (default ${DEFAULT-VALUE}).")
    int warm;

    @Option(names = "--output", defaultValue = "bench-results", paramLabel = "DIR", description = "Where the CSV files go (default ${DEFAULT-VALUE}).")
    Path output;

    @Option(names = "--examples-dir", defaultValue = "examples", paramLabel = "DIR",
            description = "Directory of the built examples (default ${DEFAULT-VALUE}).")
    Path examplesDir;

    @Option(names = "--request-timeout-s", defaultValue = "300", paramLabel = "S",
            description = "Give up on a node that does not answer one request within S seconds (default ${DEFAULT-VALUE}).")
    long requestTimeoutSeconds;

    @Override
    int run(ThawClient client) {
        BenchOptions options = options();
        // A benchmark runs unattended: a node that stops answering must end it, not hang it.
        try (ThawClient timed = ThawClient.create(client.base(), client.token().orElse(null), Duration.ofSeconds(requestTimeoutSeconds))) {
            return report(ColdStartBenchmark.create(timed, options, out(), err()).run());
        }
    }

    private int report(BenchReport report) {
        if (report.ok()) {
            return 0;
        }
        report.failures().forEach(f -> err().println("error: benchmark failed for " + f));
        return ErrorReporter.FAILED;
    }

    private BenchOptions options() {
        try {
            return new BenchOptions(functions, cold, warm, output, examplesDir);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }
}
