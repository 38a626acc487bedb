package dev.thaw.scaling;

import static dev.thaw.scaling.Checks.decimal;
import static dev.thaw.scaling.Checks.requireArgument;
import static dev.thaw.scaling.Checks.seconds;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/*
 * Design. This is Knative's KPA decision (pkg/autoscaler/scaling/autoscaler.go, and the scale-to-zero
 * and bounds of its reconciler) for one function, over a ConcurrencyRecorder instead of metrics
 * scraped from queue-proxies. A decision runs these steps in order; each step that changes the
 * count replaces the reason, so the reason names the rule that had the last word.
 *
 *  1. Observe: the stable (60 s) and panic (6 s) averages, the in-flight count, the ready count.
 *     Rates and the panic threshold are relative to max(1, ready), as Knative, so that a function
 *     at zero can scale up and the threshold is defined.
 *  2. Panic state. Panic starts when the panic average reaches threshold x what the ready instances
 *     take (ready x target). Knative compares ceil(panic / target) / ready, which panics at one
 *     ready instance as soon as the average exceeds 1; comparing the concurrency itself is what the
 *     threshold says and is the same for whole numbers. Every decision over the threshold extends
 *     panic; it ends once a whole stable window has passed since the last one.
 *  3. Want: ceil(stable / target), or while panicking the larger of that and ceil(panic / target).
 *     Outside panic, a function idle (nothing in flight) for the grace period wants zero even if
 *     the stable window still holds the tail of its last traffic: a thaw instance costs memory and
 *     comes back in a restore, so the grace period, not the window, is how long idle instances stay.
 *  4. Rate limits: between floor(ready / maxScaleDownRate) and ceil(ready x maxScaleUpRate).
 *  5. Panic floor: while panicking never below the highest count decided since panic began, which
 *     starts at the count decided just before it (Knative's maxPanicPods).
 *  6. Bounds: [minInstances, maxInstances], after the rate limits, as Knative's reconciler does.
 *  7. Zero: a count of zero becomes one while a request is in flight (the first request after
 *     zero, or one buffered while the last instance went away), and while the function had
 *     instances and its last request ended less than the grace period ago (a stable window shorter
 *     than the grace period has emptied, but the grace period has not passed).
 *
 * A decision within a tick of a wake-up (requestStarted or sample returning true) says so in its
 * reason; one made later is an ordinary decision, whatever woke the function.
 *
 * The monitor of this object guards the panic state and the last decision; the recorder has its
 * own. Lock order is always autoscaler then recorder. Every method holds the autoscaler's monitor
 * while it uses the recorder, so update() can replace the recorder without losing an event.
 */
final class KnativeAutoscaler implements Autoscaler {
    private final Ticker ticker;

    private volatile ScalingSettings settings;
    private volatile TimeWeightedRecorder recorder;

    private boolean panicking;
    private long lastOverThreshold;
    private int panicFloor;
    private ScaleDecision last;
    /** requestStarted or sample returned true since the last decision. */
    private boolean woken;
    private long wokenAt;

    KnativeAutoscaler(ScalingSettings settings, Ticker ticker) {
        this.settings = settings;
        this.ticker = ticker;
        this.recorder = new TimeWeightedRecorder(settings.stableWindow(), ticker);
    }

    @Override
    public synchronized boolean requestStarted() {
        boolean wake = atZero() && recorder.inFlight() == 0;
        recorder.requestStarted();
        noteWake(wake);
        return wake;
    }

    @Override
    public synchronized void requestEnded() {
        recorder.requestEnded();
    }

    @Override
    public synchronized boolean sample(int inFlight) {
        boolean wake = inFlight > 0 && atZero() && recorder.inFlight() == 0;
        recorder.sample(inFlight);
        noteWake(wake);
        return wake;
    }

    private void noteWake(boolean wake) {
        if (wake && !woken) {
            woken = true;
            wokenAt = ticker.read();
        }
    }

    private boolean atZero() {
        return last == null || last.desiredInstances() == 0;
    }

    @Override
    public int inFlight() {
        return recorder.inFlight();
    }

    @Override
    public synchronized ScaleDecision decide(int ready) {
        requireArgument(ready >= 0, "readyInstances must be >= 0, got %d", ready);
        ScalingSettings s = settings;
        long now = ticker.read();
        TimeWeightedRecorder r = recorder;
        double stable = r.average(s.stableWindow().toNanos(), now);
        double panic = r.average(s.panicWindow().toNanos(), now);
        int inFlight = r.inFlight();
        Duration idle = r.idleFor(now);
        int previous = last == null ? 0 : last.desiredInstances();
        double target = s.targetConcurrency();
        int base = Math.max(1, ready);

        // 2. panic state
        double threshold = s.panicThresholdPercentage() / 100 * base * target;
        boolean over = panic >= threshold && panic > 0;
        if (over) {
            if (!panicking) {
                panicking = true;
                panicFloor = previous;
            }
            lastOverThreshold = now;
        } else if (panicking && now - lastOverThreshold >= s.stableWindow().toNanos()) {
            panicking = false;
            panicFloor = 0;
        }

        // 3. want
        long stableWant = ceil(stable / target);
        long panicWant = ceil(panic / target);
        long want;
        String reason;
        if (panicking) {
            want = Math.max(stableWant, panicWant);
            reason = over
                    ? "panic: " + decimal(panic) + " in flight over " + seconds(s.panicWindow()) + " is at least "
                            + decimal(s.panicThresholdPercentage()) + "% of what " + ready + " ready instance"
                            + (ready == 1 ? "" : "s") + " take; target " + decimal(target) + " per instance"
                    : "panicking until " + seconds(s.stableWindow()) + " below the threshold (last "
                            + seconds(now - lastOverThreshold) + " ago)";
        } else if (inFlight == 0 && idle.compareTo(s.scaleToZeroGracePeriod()) >= 0 && stableWant > 0) {
            want = 0;
            reason = "idle for " + seconds(idle) + ", the grace period is " + seconds(s.scaleToZeroGracePeriod());
        } else {
            want = stableWant;
            reason = "stable: " + decimal(stable) + " in flight over " + seconds(s.stableWindow()) + ", target "
                    + decimal(target) + " per instance";
        }

        // 4. rate limits
        long maxUp = (long) Math.ceil(s.maxScaleUpRate() * base);
        long maxDown = (long) Math.floor(base / s.maxScaleDownRate());
        if (want > maxUp) {
            want = maxUp;
            reason = "scale-up limited to " + decimal(s.maxScaleUpRate()) + "x the " + base + " ready";
        } else if (want < maxDown) {
            want = maxDown;
            reason = "scale-down limited to 1/" + decimal(s.maxScaleDownRate()) + " of the " + ready + " ready";
        }

        // 5. panic floor
        if (panicking) {
            if (want < panicFloor) {
                want = panicFloor;
                reason = reason + "; no scale-down while panicking";
            }
            panicFloor = (int) Math.min(want, Integer.MAX_VALUE);
        }

        // 6. bounds
        if (want < s.minInstances()) {
            want = s.minInstances();
            reason = "minInstances is " + s.minInstances();
        } else if (want > s.maxInstances()) {
            reason = "capped at maxInstances " + s.maxInstances() + " (wanted " + want + "; " + reason + ")";
            want = s.maxInstances();
        }

        // 7. zero
        if (want == 0) {
            if (inFlight > 0) {
                want = 1;
                reason = inFlight + " in flight";
            } else if (previous > 0 && idle.compareTo(s.scaleToZeroGracePeriod()) < 0) {
                want = 1;
                reason = "idle for " + seconds(idle) + " of the " + seconds(s.scaleToZeroGracePeriod())
                        + " grace period: keeping one instance";
            } else if (r.everBusy()) {
                reason = "idle for " + seconds(idle) + ", the grace period is " + seconds(s.scaleToZeroGracePeriod())
                        + (previous > 0 ? ": scale to zero" : "");
            } else {
                reason = "no traffic";
            }
        }
        if (woken && want > 0 && s.minInstances() == 0 && now - wokenAt <= s.tickInterval().toNanos()) {
            reason = want == 1 ? "first request after zero" : "first requests after zero; " + reason;
        }
        woken = false;

        int excess = 0;
        if (s.targetBurstCapacity() > 0) {
            excess = (int) Math.max(Integer.MIN_VALUE,
                    Math.floor(ready * target - s.targetBurstCapacity() - panic));
        }
        last = new ScaleDecision((int) want, ready, inFlight, stable, panic, panicking, excess, reason);
        return last;
    }

    private static long ceil(double value) {
        return (long) Math.min(Math.ceil(value), Integer.MAX_VALUE);
    }

    @Override
    public synchronized Optional<ScaleDecision> lastDecision() {
        return Optional.ofNullable(last);
    }

    @Override
    public ScalingSettings settings() {
        return settings;
    }

    @Override
    public synchronized void update(ScalingSettings newSettings) {
        Objects.requireNonNull(newSettings, "settings");
        if (newSettings.stableWindow().compareTo(recorder.longestWindow()) > 0) {
            recorder = recorder.resized(newSettings.stableWindow());
        }
        settings = newSettings;
    }

    @Override
    public String toString() {
        return "Autoscaler[" + lastDecision().map(ScaleDecision::toString).orElse("no decision yet") + "]";
    }
}
