package dev.thaw.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class LatencyStatsTest {

    @Test
    void percentilesOfOneToHundred() {
        LatencyStats stats = new LatencyStats();
        for (int i = 100; i >= 1; i--) {
            stats.record(i);
        }
        assertThat(stats.count()).isEqualTo(100);
        assertThat(stats.median()).isCloseTo(50, within(0.05));
        assertThat(stats.p99()).isCloseTo(99, within(0.1));
        assertThat(stats.min()).isEqualTo(1);
        assertThat(stats.max()).isEqualTo(100);
    }

    @Test
    void subMillisecondValuesKeepMicrosecondResolution() {
        LatencyStats stats = new LatencyStats();
        stats.record(0.25);
        stats.record(0.5);
        stats.record(0.75);
        assertThat(stats.median()).isCloseTo(0.5, within(0.001));
        assertThat(stats.min()).isEqualTo(0.25);
        assertThat(stats.max()).isEqualTo(0.75);
    }

    @Test
    void largeValuesStayWithinATenthOfAPercent() {
        LatencyStats stats = new LatencyStats();
        stats.record(12_345.678);
        assertThat(stats.median()).isCloseTo(12_345.678, within(12.35));
        assertThat(stats.max()).isEqualTo(12_345.678);
    }

    @Test
    void emptyStatsAreNaN() {
        LatencyStats stats = new LatencyStats();
        assertThat(stats.count()).isZero();
        assertThat(stats.median()).isNaN();
        assertThat(stats.min()).isNaN();
    }

    @Test
    void negativeValuesAreClampedToZero() {
        LatencyStats stats = new LatencyStats();
        stats.record(-1);
        assertThat(stats.min()).isZero();
        assertThat(stats.median()).isZero();
    }
}
