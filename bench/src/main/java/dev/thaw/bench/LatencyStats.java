package dev.thaw.bench;

import org.HdrHistogram.Histogram;

/**
 * Percentiles of a series of millisecond values. Values go into an HdrHistogram at microsecond
 * resolution with 3 significant digits (percentiles are exact to 0.1%); min and max are kept exactly
 * because the histogram reports bucket bounds.
 */
final class LatencyStats {
    private static final double MICROS_PER_MS = 1000.0;

    private final Histogram histogram = new Histogram(3);
    private double min = Double.NaN;
    private double max = Double.NaN;
    private double sum;

    /** Records one value; negative values are clamped to 0 because a histogram cannot hold them. */
    void record(double millis) {
        double value = Math.max(0, millis);
        histogram.recordValue(Math.round(value * MICROS_PER_MS));
        min = Double.isNaN(min) ? value : Math.min(min, value);
        max = Double.isNaN(max) ? value : Math.max(max, value);
        sum += value;
    }

    /** @return the exact arithmetic mean in ms, NaN when empty */
    double mean() {
        return count() == 0 ? Double.NaN : sum / count();
    }

    long count() {
        return histogram.getTotalCount();
    }

    /** @return the value at {@code percentile} (0-100) in ms, NaN when empty */
    double percentile(double percentile) {
        return count() == 0 ? Double.NaN : histogram.getValueAtPercentile(percentile) / MICROS_PER_MS;
    }

    double median() {
        return percentile(50);
    }

    double p99() {
        return percentile(99);
    }

    double min() {
        return min;
    }

    double max() {
        return max;
    }
}
