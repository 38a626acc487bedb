package dev.thaw.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.thaw.core.StartKind;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

class SummaryTest {

    static List<Sample> series(Series series, double clientMs, double serverMs, int n, StartKind kind) {
        List<Sample> samples = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            samples.add(new Sample("hello", series, i, clientMs, OptionalDouble.of(serverMs), kind));
        }
        return samples;
    }

    static List<Sample> typical() {
        List<Sample> all = new ArrayList<>(series(Series.BOOT, 400, 350, 10, StartKind.BOOT));
        all.addAll(series(Series.RESTORE, 40, 30, 8, StartKind.RESTORE));
        all.addAll(series(Series.RESTORE, 400, 350, 2, StartKind.BOOT));
        all.addAll(series(Series.WARM, 2, 0.5, 50, StartKind.WARM));
        return all;
    }

    @Test
    void seriesSummaryCountsStartKinds() {
        FunctionSummary f = FunctionSummary.of("hello", "ready", typical());
        SeriesSummary restore = f.get(Series.RESTORE).orElseThrow();
        assertThat(restore.n()).isEqualTo(10);
        assertThat(restore.unexpectedStarts()).isEqualTo(2);
        assertThat(restore.startKindsText()).isEqualTo("restore=8;boot=2");
        assertThat(restore.medianMs()).isCloseTo(40, within(0.05));
        assertThat(restore.maxMs()).isEqualTo(400);
        assertThat(f.get(Series.BOOT).orElseThrow().unexpectedStarts()).isZero();
    }

    @Test
    void ratiosUseMedians() {
        FunctionSummary f = FunctionSummary.of("hello", "ready", typical());
        assertThat(f.bootOverRestore().getAsDouble()).isCloseTo(10, within(0.02));
        assertThat(f.restoreOverWarm().getAsDouble()).isCloseTo(20, within(0.05));
    }

    @Test
    void missingSeriesHaveNoRatio() {
        FunctionSummary f = FunctionSummary.of("hello", "ready", series(Series.BOOT, 400, 350, 3, StartKind.BOOT));
        assertThat(f.series()).hasSize(1);
        assertThat(f.bootOverRestore()).isEmpty();
        assertThat(f.restoreOverWarm()).isEmpty();
    }

    @Test
    void serverMedianIsNaNWithoutHeaders() {
        var s = SeriesSummary.of("hello", Series.WARM,
                List.of(new Sample("hello", Series.WARM, 1, 1.0, OptionalDouble.empty(), StartKind.WARM)));
        assertThat(s.serverMedianMs()).isNaN();
    }
}
