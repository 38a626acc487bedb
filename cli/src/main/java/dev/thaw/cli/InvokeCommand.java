package dev.thaw.cli;

import dev.thaw.client.InvocationResult;
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

/** {@code thaw invoke}: runs a function once and prints its result. */
@Command(name = "invoke", description = {"Invokes a function and prints its result.",
        "A function error prints the error body to stderr and exits with 1."})
final class InvokeCommand extends ClientCommand {

    @Parameters(index = "0", paramLabel = "NAME", description = "Function name.")
    String name;

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

    @Override
    int run(ThawClient client) {
        byte[] event = event();
        InvocationResult result;
        // stderr says what the node is doing while the answer takes long (a first boot, a restore, a queue)
        try (Progress progress = cli().progress(err());
             NodeWatch watch = NodeWatch.start(client, name, progress, cli().progressSettings().quietFor(), cli().pollEvery())) {
            result = client.invoke(name, event);
        }
        out().println(result.bodyAsString());
        if (verbose) {
            printTimings(result, err());
        }
        return 0;
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
        ms(err, "duration:       ", r.durationMs());
        err.println("client latency: " + String.format(Locale.ROOT, "%.2f ms", r.clientLatencyMillis()));
        err.println("request id:     " + (r.requestId() == null ? "-" : r.requestId()));
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
