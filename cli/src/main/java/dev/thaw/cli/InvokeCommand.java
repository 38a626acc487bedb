package dev.thaw.cli;

import dev.thaw.client.InvocationResult;
import dev.thaw.client.InvokeOptions;
import dev.thaw.client.ThawClient;
import dev.thaw.core.Json;
import dev.thaw.core.ThawException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.OptionalDouble;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;

/**
 * {@code thaw invoke}: runs a function once and prints its result, through Lambda's Invoke (so a
 * version or alias, an asynchronous or dry-run invocation and the log tail are one flag away).
 */
@Command(name = "invoke", description = {"Invokes a function and prints its result.",
        "A function error (the handler threw, init failed, a timeout, a crash) prints Lambda's error body to stderr"
                + " and exits with 1.",
        "--invocation-type Event queues the event durably and prints its request id; DryRun checks without running."})
final class InvokeCommand extends ClientCommand {

    @Parameters(index = "0", paramLabel = "NAME", description = "Function name (also NAME:QUALIFIER or a Lambda ARN).")
    String name;

    @Option(names = {"-q", "--qualifier"}, paramLabel = "Q", description = "$LATEST, a version number or an alias.")
    String qualifier;

    @Option(names = "--invocation-type", paramLabel = "TYPE", defaultValue = "RequestResponse",
            description = "RequestResponse (default), Event (asynchronous, retried, 202) or DryRun (nothing runs, 204).")
    String invocationType;

    @Option(names = "--log-type", paramLabel = "None|Tail", defaultValue = "None",
            description = "Tail: the answer carries the last 4 KB of the invocation's log (printed with --log or --verbose).")
    String logType;

    @Option(names = "--log", description = "Print the invocation's log tail to stderr (implies --log-type Tail).")
    boolean log;

    @ArgGroup(exclusive = true)
    Payload payload;

    @Option(names = {"-v", "--verbose"}, description = "Also print start kind and timings to stderr.")
    boolean verbose;

    /** Where the event comes from: at most one of the two. */
    static final class Payload {
        @Option(names = "--data", paramLabel = "JSON", description = "The event as JSON (default: null).")
        String data;

        @Option(names = "--data-file", paramLabel = "PATH", description = "A file holding the event as JSON.")
        Path file;
    }

    /**
     * One request ahead of the invocation, so that the client latency --verbose prints is the
     * invocation's round trip on a kept-alive connection, as an application's client sees it, not
     * this process's first request (its HTTP client loading and connecting: ~100 ms, against 1 ms
     * for a warm invocation).
     */
    private static void warmUp(ThawClient client) {
        try {
            client.health();
        } catch (RuntimeException e) {
            // the invocation says what is wrong with the node
        }
    }

    @Override
    int run(ThawClient client) {
        InvocationResult result;
        if (verbose) {
            warmUp(client);
        }
        // stderr says what the node is doing while the answer takes long (a first boot, a restore, a queue)
        try (Progress progress = cli().progress(err());
             NodeWatch watch = NodeWatch.start(client, name, progress, cli().progressSettings().quietFor(), cli().pollEvery())) {
            result = client.invoke(name, event(), options());
        }
        if (result.status() == 202) {
            out().println("queued: request id " + result.requestId());
            return 0;
        }
        if (result.status() == 204) {
            out().println("dry run: function " + name + " version " + result.executedVersion().orElse(0)
                    + " would run; nothing ran");
            return 0;
        }
        if ((log || verbose) && result.logResult().isPresent()) {
            err().println("---- log tail ----");
            err().print(result.logResult().get());
            err().println("------------------");
        }
        if (result.functionError().isPresent()) {
            printFunctionError(result, err());
            return ErrorReporter.FAILED;
        }
        out().println(result.bodyAsString());
        if (verbose) {
            printTimings(result, err());
        }
        return 0;
    }

    private InvokeOptions options() {
        InvokeOptions.Type type;
        try {
            type = InvokeOptions.Type.fromWireName(invocationType);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--invocation-type " + e.getMessage());
        }
        if (!logType.equals("None") && !logType.equals("Tail")) {
            throw new ParameterException(spec.commandLine(), "--log-type must be None or Tail, got '" + logType + "'");
        }
        return InvokeOptions.defaults().withQualifier(qualifier).withType(type)
                .withTailLog(log || logType.equals("Tail"));
    }

    /** A function's failure: {@code error: FunctionError: TYPE: MESSAGE} and Lambda's body. */
    private static void printFunctionError(InvocationResult r, PrintWriter err) {
        String summary;
        try {
            var body = Json.mapper().readTree(r.body());
            summary = body.path("errorType").asText("") + ": " + body.path("errorMessage").asText("");
            err.println("error: FunctionError: " + summary);
            err.println(ErrorReporter.prettyJson(body));
        } catch (IOException e) {
            err.println("error: FunctionError: " + r.bodyAsString());
        }
    }

    private byte[] event() {
        if (payload == null) {
            return new byte[0];
        }
        byte[] bytes = payload.data != null ? payload.data.getBytes(StandardCharsets.UTF_8) : read(payload.file);
        if (bytes.length > 0 && !Json.isValid(bytes)) {
            throw new ParameterException(spec.commandLine(),
                    (payload.data != null ? "--data" : payload.file.toString()) + " is not valid JSON");
        }
        return bytes;
    }

    static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw ThawException.invalidRequest("cannot read %s: %s", file, e.getMessage());
        }
    }

    /** The restore's figures, printed when the node sent them (first invocation of a restored instance). */
    private static final java.util.List<String> RESTORE_FIGURES = java.util.List.of("Restore-Mode", "Restore-Source",
            "Fetch-Ms", "Fetch-Bytes", "Pages-Up-Front", "Faults-On-Demand", "Working-Set-Bytes", "Install-Ms");

    static void printTimings(InvocationResult r, PrintWriter err) {
        err.println("start:          " + r.startKind().wireName());
        ms(err, "init:           ", r.initMs());
        ms(err, "restore:        ", r.restoreMs());
        r.thawHeader("Prewarmed-Ms").ifPresent(v -> err.println("prewarmed:      restored and ready " + v
                + " ms before the invocation came"));
        ms(err, "duration:       ", r.durationMs());
        err.println("client latency: " + String.format(Locale.ROOT, "%.2f ms", r.clientLatencyMillis()));
        err.println("request id:     " + (r.requestId() == null ? "-" : r.requestId()));
        r.executedVersion().ifPresent(v -> err.println("version:        " + v));
        r.thawHeader("Node").ifPresent(n -> err.println("node:           " + n));
        for (String figure : RESTORE_FIGURES) {
            r.thawHeader(figure).ifPresent(v -> err.println(String.format(Locale.ROOT, "%-19s%s",
                    figure.toLowerCase(Locale.ROOT).replace('-', ' ') + ":", v)));
        }
        err.flush();
    }

    private static void ms(PrintWriter err, String label, OptionalDouble value) {
        if (value.isPresent()) {
            err.println(label + String.format(Locale.ROOT, "%.2f ms", value.getAsDouble()));
        }
    }
}
