package dev.thaw.bench;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Intended send times of an open-loop run, as offsets in nanoseconds from its start. Computed in
 * advance from a seeded generator, so one seed gives one schedule whatever the machine does.
 */
final class ArrivalSchedule {
    /** Safety cap on a duration-bounded schedule. */
    static final int MAX_ARRIVALS = 2_000_000;

    private ArrivalSchedule() {
    }

    /**
     * @param arrival the process: fixed, exponential (Poisson arrivals) or bursty
     * @param count arrivals wanted, or -1 to fill {@code durationNanos}
     * @param durationNanos with count -1: arrivals at offsets below this
     * @param random the source of the exponential draws
     * @return non-decreasing offsets, the first at 0
     */
    static long[] offsets(RunConfig.Arrival arrival, int count, long durationNanos, SplittableRandom random) {
        int capacity = count >= 0 ? count : 1024;
        long[] out = new long[capacity];
        int n = 0;
        double t = 0;
        int inBurst = 0;
        while (count >= 0 ? n < count : n < MAX_ARRIVALS) {
            if (count < 0 && t >= durationNanos) {
                break;
            }
            if (n == out.length) {
                out = Arrays.copyOf(out, out.length * 2);
            }
            out[n++] = Math.round(t);
            switch (arrival.type()) {
                case "fixed" -> t += arrival.iatMs() * 1e6;
                case "exponential" -> t += exponential(random, arrival.iatMs() * 1e6);
                case "bursty" -> {
                    // A burst's requests share one instant; bursts start burstGapMs apart.
                    if (++inBurst == arrival.burstSize()) {
                        inBurst = 0;
                        t += arrival.burstGapMs() * 1e6;
                    }
                }
                default -> throw new IllegalArgumentException("unknown arrival type " + arrival.type());
            }
        }
        return n == out.length ? out : Arrays.copyOf(out, n);
    }

    /** Inverse-transform sampling: -mean * ln(U), with U in (0, 1]. */
    static double exponential(SplittableRandom random, double mean) {
        return -mean * Math.log(1.0 - random.nextDouble());
    }
}
