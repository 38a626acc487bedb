package dev.thaw.scaling;

import static dev.thaw.scaling.Checks.decimal;
import static dev.thaw.scaling.Checks.requireArgument;
import static dev.thaw.scaling.Checks.seconds;

import java.time.Duration;

/**
 * How one function scales: Knative's KPA settings with thaw's defaults. Every instance is valid: the
 * constructor (and so {@link Builder#build()}) rejects a bad value with a message naming it.
 *
 * @param minInstances instances kept even without traffic (default 0: scale to zero)
 * @param maxInstances most instances at once (default {@value #DEFAULT_MAX_INSTANCES}, as thaw's
 *     manifests)
 * @param targetConcurrency requests one instance should have in flight (default 1, as AWS Lambda;
 *     Knative's default is 100); any positive number
 * @param stableWindow the window whose average concurrency sets the instance count outside panic
 *     (default 60 s; whole seconds from 6 s to 1 h, as Knative)
 * @param panicWindowPercentage the panic window as a percentage of the stable window (default 10,
 *     so 6 s; 1 to 100, and the panic window must come to at least 1 s)
 * @param panicThresholdPercentage panic starts when the panic window's concurrency reaches this
 *     percentage of what the ready instances take (default 200; 110 to 1000, as Knative)
 * @param scaleToZeroGracePeriod how long after its last request a function keeps instances before
 *     it may scale to zero (default 30 s; zero or more)
 * @param maxScaleUpRate at most this many times the ready instances in one decision (default 1000,
 *     as Knative; more than 1)
 * @param maxScaleDownRate at least the ready instances divided by this in one decision (default 2,
 *     as Knative; more than 1)
 * @param tickInterval how often the node should call {@link Autoscaler#decide(int)} (default 2 s,
 *     as Knative; at most the stable window); the autoscaler itself never schedules anything
 * @param targetBurstCapacity concurrency the ready instances should be able to absorb beyond the
 *     panic window's, for {@link ScaleDecision#excessBurstCapacity()} (default 0: not computed)
 */
public record ScalingSettings(
        int minInstances,
        int maxInstances,
        double targetConcurrency,
        Duration stableWindow,
        double panicWindowPercentage,
        double panicThresholdPercentage,
        Duration scaleToZeroGracePeriod,
        double maxScaleUpRate,
        double maxScaleDownRate,
        Duration tickInterval,
        double targetBurstCapacity) {

    /** Default {@link #maxInstances()}: thaw's manifest default. */
    public static final int DEFAULT_MAX_INSTANCES = 8;
    /** Shortest stable window (Knative's). */
    public static final Duration MIN_STABLE_WINDOW = Duration.ofSeconds(6);
    /** Longest stable window (Knative's). */
    public static final Duration MAX_STABLE_WINDOW = ConcurrencyRecorder.MAX_WINDOW;

    private static final ScalingSettings DEFAULTS = new Builder().build();

    /** Validates every field; see the record's description for the ranges. */
    public ScalingSettings {
        requireArgument(minInstances >= 0, "minInstances must be >= 0, got %d", minInstances);
        requireArgument(maxInstances >= 1, "maxInstances must be >= 1, got %d", maxInstances);
        requireArgument(minInstances <= maxInstances,
                "minInstances (%d) must not exceed maxInstances (%d)", minInstances, maxInstances);
        requireArgument(targetConcurrency > 0 && Double.isFinite(targetConcurrency),
                "targetConcurrency must be > 0, got %s", targetConcurrency);
        Checks.positive(stableWindow, "stableWindow");
        requireArgument(stableWindow.compareTo(MIN_STABLE_WINDOW) >= 0 && stableWindow.compareTo(MAX_STABLE_WINDOW) <= 0,
                "stableWindow must be between %s and %s, got %s",
                seconds(MIN_STABLE_WINDOW), seconds(MAX_STABLE_WINDOW), seconds(stableWindow));
        requireArgument(stableWindow.toNanosPart() == 0,
                "stableWindow must be whole seconds, got %s", seconds(stableWindow));
        requireArgument(panicWindowPercentage >= 1 && panicWindowPercentage <= 100,
                "panicWindowPercentage must be between 1 and 100, got %s", panicWindowPercentage);
        long panicNanos = Math.round(stableWindow.toNanos() * panicWindowPercentage / 100);
        requireArgument(panicNanos >= Checks.NANOS_PER_SECOND,
                "the panic window (%s%% of the %s stable window = %s) must be at least 1 s",
                decimal(panicWindowPercentage), seconds(stableWindow), seconds(panicNanos));
        requireArgument(panicThresholdPercentage >= 110 && panicThresholdPercentage <= 1000,
                "panicThresholdPercentage must be between 110 and 1000, got %s", panicThresholdPercentage);
        Checks.notNegative(scaleToZeroGracePeriod, "scaleToZeroGracePeriod");
        requireArgument(maxScaleUpRate > 1 && Double.isFinite(maxScaleUpRate),
                "maxScaleUpRate must be > 1, got %s", maxScaleUpRate);
        requireArgument(maxScaleDownRate > 1 && Double.isFinite(maxScaleDownRate),
                "maxScaleDownRate must be > 1, got %s", maxScaleDownRate);
        Checks.positive(tickInterval, "tickInterval");
        requireArgument(tickInterval.compareTo(stableWindow) <= 0,
                "tickInterval (%s) must not exceed the stableWindow (%s)", seconds(tickInterval), seconds(stableWindow));
        requireArgument(targetBurstCapacity >= 0 && Double.isFinite(targetBurstCapacity),
                "targetBurstCapacity must be >= 0, got %s", targetBurstCapacity);
    }

    /** @return the defaults: 0..8 instances, target 1, 60 s / 6 s windows, 200 %, 30 s grace, rates 1000 and 2, 2 s tick */
    public static ScalingSettings defaults() {
        return DEFAULTS;
    }

    /** @return a builder starting from the defaults */
    public static Builder builder() {
        return new Builder();
    }

    /** @return a builder starting from these settings */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** @return the panic window: {@link #panicWindowPercentage()} of the stable window */
    public Duration panicWindow() {
        return Duration.ofNanos(Math.round(stableWindow.toNanos() * panicWindowPercentage / 100));
    }

    /** Builds {@link ScalingSettings}; {@link #build()} validates. */
    public static final class Builder {
        private int minInstances = 0;
        private int maxInstances = DEFAULT_MAX_INSTANCES;
        private double targetConcurrency = 1;
        private Duration stableWindow = Duration.ofSeconds(60);
        private double panicWindowPercentage = 10;
        private double panicThresholdPercentage = 200;
        private Duration scaleToZeroGracePeriod = Duration.ofSeconds(30);
        private double maxScaleUpRate = 1000;
        private double maxScaleDownRate = 2;
        private Duration tickInterval = Duration.ofSeconds(2);
        private double targetBurstCapacity = 0;

        private Builder() {
        }

        private Builder(ScalingSettings s) {
            minInstances = s.minInstances;
            maxInstances = s.maxInstances;
            targetConcurrency = s.targetConcurrency;
            stableWindow = s.stableWindow;
            panicWindowPercentage = s.panicWindowPercentage;
            panicThresholdPercentage = s.panicThresholdPercentage;
            scaleToZeroGracePeriod = s.scaleToZeroGracePeriod;
            maxScaleUpRate = s.maxScaleUpRate;
            maxScaleDownRate = s.maxScaleDownRate;
            tickInterval = s.tickInterval;
            targetBurstCapacity = s.targetBurstCapacity;
        }

        /**
         * @param n see {@link ScalingSettings#minInstances()}
         * @return this builder
         */
        public Builder minInstances(int n) { minInstances = n; return this; }
        /**
         * @param n see {@link ScalingSettings#maxInstances()}
         * @return this builder
         */
        public Builder maxInstances(int n) { maxInstances = n; return this; }
        /**
         * @param c see {@link ScalingSettings#targetConcurrency()}
         * @return this builder
         */
        public Builder targetConcurrency(double c) { targetConcurrency = c; return this; }
        /**
         * @param d see {@link ScalingSettings#stableWindow()}
         * @return this builder
         */
        public Builder stableWindow(Duration d) { stableWindow = d; return this; }
        /**
         * @param p see {@link ScalingSettings#panicWindowPercentage()}
         * @return this builder
         */
        public Builder panicWindowPercentage(double p) { panicWindowPercentage = p; return this; }
        /**
         * @param p see {@link ScalingSettings#panicThresholdPercentage()}
         * @return this builder
         */
        public Builder panicThresholdPercentage(double p) { panicThresholdPercentage = p; return this; }
        /**
         * @param d see {@link ScalingSettings#scaleToZeroGracePeriod()}
         * @return this builder
         */
        public Builder scaleToZeroGracePeriod(Duration d) { scaleToZeroGracePeriod = d; return this; }
        /**
         * @param r see {@link ScalingSettings#maxScaleUpRate()}
         * @return this builder
         */
        public Builder maxScaleUpRate(double r) { maxScaleUpRate = r; return this; }
        /**
         * @param r see {@link ScalingSettings#maxScaleDownRate()}
         * @return this builder
         */
        public Builder maxScaleDownRate(double r) { maxScaleDownRate = r; return this; }
        /**
         * @param d see {@link ScalingSettings#tickInterval()}
         * @return this builder
         */
        public Builder tickInterval(Duration d) { tickInterval = d; return this; }
        /**
         * @param c see {@link ScalingSettings#targetBurstCapacity()}
         * @return this builder
         */
        public Builder targetBurstCapacity(double c) { targetBurstCapacity = c; return this; }

        /**
         * @return the settings
         * @throws IllegalArgumentException naming the first bad value
         */
        public ScalingSettings build() {
            return new ScalingSettings(minInstances, maxInstances, targetConcurrency, stableWindow, panicWindowPercentage,
                    panicThresholdPercentage, scaleToZeroGracePeriod, maxScaleUpRate, maxScaleDownRate, tickInterval,
                    targetBurstCapacity);
        }
    }
}
