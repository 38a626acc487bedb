package dev.thaw.bench;

import java.nio.file.Path;
import java.util.List;

/**
 * What a benchmark run produced.
 *
 * @param samplesCsv one row per request
 * @param summaryCsv one row per function and series
 * @param failures one line per function that could not be measured; empty when all were
 */
public record BenchReport(Path samplesCsv, Path summaryCsv, List<String> failures) {

    public BenchReport {
        failures = List.copyOf(failures);
    }

    /** @return true when every function was measured */
    public boolean ok() {
        return failures.isEmpty();
    }
}
