package dev.thaw.bench;

import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * The series of one function and the ratios between their medians.
 *
 * @param function example function name
 * @param snapshotState the restore deployment's snapshot state after priming, e.g. {@code ready} or
 *     {@code failed: reason}
 * @param series one summary per measured series
 */
record FunctionSummary(String function, String snapshotState, List<SeriesSummary> series) {

    FunctionSummary {
        series = List.copyOf(series);
    }

    static FunctionSummary of(String function, String snapshotState, List<Sample> samples) {
        List<SeriesSummary> summaries = java.util.Arrays.stream(Series.values())
                .map(s -> SeriesSummary.of(function, s, samples.stream().filter(x -> x.series() == s).toList()))
                .filter(s -> s.n() > 0)
                .toList();
        return new FunctionSummary(function, snapshotState, summaries);
    }

    Optional<SeriesSummary> get(Series which) {
        return series.stream().filter(s -> s.series() == which).findFirst();
    }

    /** @return median boot latency over median restore latency: how much faster restoring is */
    OptionalDouble bootOverRestore() {
        return ratio(Series.BOOT, Series.RESTORE);
    }

    /** @return median restore latency over median warm latency: what a cold start still costs */
    OptionalDouble restoreOverWarm() {
        return ratio(Series.RESTORE, Series.WARM);
    }

    private OptionalDouble ratio(Series numerator, Series denominator) {
        var top = get(numerator);
        var bottom = get(denominator);
        if (top.isEmpty() || bottom.isEmpty() || !(bottom.get().medianMs() > 0)) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(top.get().medianMs() / bottom.get().medianMs());
    }
}
