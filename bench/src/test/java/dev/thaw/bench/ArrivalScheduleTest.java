package dev.thaw.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ArrivalScheduleTest {

    @Test
    void fixedArrivalsAreEvenlySpaced() {
        long[] t = ArrivalSchedule.offsets(new RunConfig.Arrival("fixed", 20.0, null, null), 5, 0, new SplittableRandom(1));
        assertThat(t).containsExactly(0, 20_000_000, 40_000_000, 60_000_000, 80_000_000);
    }

    @Test
    void durationBoundsTheCount() {
        long[] t = ArrivalSchedule.offsets(new RunConfig.Arrival("fixed", 100.0, null, null), -1, 1_000_000_000L,
                new SplittableRandom(1));
        assertThat(t).hasSize(10);
    }

    @Test
    void poissonArrivalsHaveTheMeanAndAreDeterministic() {
        RunConfig.Arrival a = new RunConfig.Arrival("exponential", 10.0, null, null);
        long[] t = ArrivalSchedule.offsets(a, 20_000, 0, new SplittableRandom(42));
        double meanMs = t[t.length - 1] / 1e6 / (t.length - 1);
        assertThat(meanMs).isCloseTo(10.0, within(0.3));
        // Exponential: the standard deviation equals the mean.
        double sum2 = 0;
        for (int i = 1; i < t.length; i++) {
            double d = (t[i] - t[i - 1]) / 1e6 - meanMs;
            sum2 += d * d;
        }
        assertThat(Math.sqrt(sum2 / (t.length - 2))).isCloseTo(10.0, within(0.5));
        assertThat(ArrivalSchedule.offsets(a, 20_000, 0, new SplittableRandom(42))).isEqualTo(t);
        assertThat(ArrivalSchedule.offsets(a, 20_000, 0, new SplittableRandom(43))).isNotEqualTo(t);
    }

    @Test
    void burstsShareAnInstantAndAreAGapApart() {
        long[] t = ArrivalSchedule.offsets(new RunConfig.Arrival("bursty", null, 3, 500.0), -1, 2_000_000_000L,
                new SplittableRandom(1));
        assertThat(t).hasSize(12);
        assertThat(t).containsExactly(0, 0, 0, 500_000_000, 500_000_000, 500_000_000, 1_000_000_000, 1_000_000_000,
                1_000_000_000, 1_500_000_000, 1_500_000_000, 1_500_000_000);
    }

    @Test
    void theFunctionMixFollowsTheWeights() {
        double[] cumulative = {1, 4}; // weights 1 and 3
        SplittableRandom r = new SplittableRandom(5);
        int second = 0;
        for (int i = 0; i < 40_000; i++) {
            second += BenchRun.pick(cumulative, r);
        }
        assertThat(second / 40_000.0).isCloseTo(0.75, within(0.01));
    }
}
