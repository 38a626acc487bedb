package dev.thaw.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** Writes the benchmark's CSV files (RFC 4180: comma-separated, quoted when needed, CRLF-free). */
final class CsvFiles {
    static final String SAMPLES_HEADER = "function,kind,iteration,client_ms,server_phase_ms,start_kind";
    static final String SUMMARY_HEADER = "function,kind,n,median_ms,p99_ms,min_ms,max_ms,server_median_ms,"
            + "start_kinds,snapshot_state,boot_over_restore,restore_over_warm";

    private CsvFiles() {
    }

    static void writeSamples(Path file, List<Sample> samples) {
        write(file, SAMPLES_HEADER, samples.stream().map(CsvFiles::sampleRow).toList());
    }

    static void writeSummary(Path file, List<FunctionSummary> summaries) {
        write(file, SUMMARY_HEADER, summaries.stream().flatMap(CsvFiles::summaryRows).toList());
    }

    static String sampleRow(Sample s) {
        return row(s.function(), s.series().label(), Integer.toString(s.iteration()), number(s.clientMs()),
                number(s.serverPhaseMs()), s.startKind().wireName());
    }

    /** The ratios repeat on every row of a function so each row stands alone in a spreadsheet. */
    static Stream<String> summaryRows(FunctionSummary f) {
        return f.series().stream().map(s -> row(s.function(), s.series().label(), Long.toString(s.n()),
                number(s.medianMs()), number(s.p99Ms()), number(s.minMs()), number(s.maxMs()),
                number(s.serverMedianMs()), s.startKindsText(), f.snapshotState(),
                number(f.bootOverRestore()), number(f.restoreOverWarm())));
    }

    static String row(String... cells) {
        return Stream.of(cells).map(CsvFiles::escape).collect(Collectors.joining(","));
    }

    static String escape(String cell) {
        if (cell.contains(",") || cell.contains("\"") || cell.contains("\n") || cell.contains("\r")) {
            return '"' + cell.replace("\"", "\"\"") + '"';
        }
        return cell;
    }

    /** @return three decimals, or the empty cell when there is no value */
    static String number(double value) {
        return Double.isNaN(value) ? "" : String.format(Locale.ROOT, "%.3f", value);
    }

    static String number(OptionalDouble value) {
        return value.isPresent() ? number(value.getAsDouble()) : "";
    }

    static void write(Path file, String header, List<String> rows) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
                w.write(header);
                w.write('\n');
                for (String row : rows) {
                    w.write(row);
                    w.write('\n');
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
