package dev.thaw.scaling;

import static dev.thaw.scaling.Checks.NANOS_PER_SECOND;
import static dev.thaw.scaling.Checks.requireArgument;
import static dev.thaw.scaling.Checks.requireState;
import static dev.thaw.scaling.Checks.seconds;

import java.time.Duration;
import java.util.Arrays;

/*
 * Design. The in-flight count is a step function of time; what the autoscaler needs is its
 * integral over recent windows. The recorder integrates as it goes: every event or query first
 * "advances" to now, adding count x elapsed nanoseconds to the bucket of each second crossed, then
 * changes the count. Buckets live in a ring indexed by absolute second (floorDiv(now, 1 s)) modulo
 * the capacity, which is the longest window in whole seconds plus one, because a window that does
 * not start on a second boundary touches one more bucket than its length. A gap longer than the
 * ring is skipped in one step (only the last `capacity` seconds can matter), so the cost of an
 * event is bounded by the ring size whatever the gap, and usually one bucket.
 *
 * Buckets hold count-nanoseconds as longs, so whole seconds are exact and a steady count averages
 * to exactly that count. A window's mean is the sum of the buckets it covers divided by its
 * length; the oldest bucket, only partly inside, counts pro rata (exact when the window starts on a
 * second, which is what tests with a fake ticker do). The result is rounded to six decimals, as
 * Knative does, so that ceil(mean / target) is not pushed up by binary fractions.
 *
 * Knative's buckets average over the time since their first write when that is shorter than the
 * window, and reset that first write after a whole window without data. The equivalent here is the
 * origin: the moment a request arrives after the recorder was idle for its whole longest window
 * (or never busy). Before the origin the buckets are zero and do not count towards the mean.
 *
 * One monitor guards everything: a request takes it twice (start, end) for a few arithmetic
 * operations, and the autoscaler's tick once every two seconds.
 */
final class TimeWeightedRecorder implements ConcurrencyRecorder {
    private final Ticker ticker;
    private final Duration longestWindow;
    private final long longestNanos;
    private final long[] buckets;
    private final long created;

    private int level;
    /** Time up to which the level has been integrated into the buckets. */
    private long integratedTo;
    /** Absolute second of the newest bucket in the ring. */
    private long headSecond;
    private boolean recording;
    private long origin;
    private boolean everBusy;
    /** When the level last fell to zero. */
    private long lastBusy;

    TimeWeightedRecorder(Duration longestWindow, Ticker ticker) {
        this(longestWindow, ticker, ticker.read());
    }

    private TimeWeightedRecorder(Duration longestWindow, Ticker ticker, long created) {
        Checks.positive(longestWindow, "longest window");
        requireArgument(longestWindow.compareTo(Duration.ofSeconds(1)) >= 0 && longestWindow.compareTo(MAX_WINDOW) <= 0,
                "longest window must be between 1 s and %s, got %s", seconds(MAX_WINDOW), seconds(longestWindow));
        this.ticker = ticker;
        this.longestWindow = longestWindow;
        this.longestNanos = longestWindow.toNanos();
        this.buckets = new long[(int) ((longestNanos + NANOS_PER_SECOND - 1) / NANOS_PER_SECOND) + 1];
        this.created = created;
    }

    /**
     * A copy that keeps {@code newLongest}: the same count, origin and idle time, and the buckets
     * of the seconds both rings hold.
     */
    synchronized TimeWeightedRecorder resized(Duration newLongest) {
        advance(ticker.read());
        TimeWeightedRecorder copy = new TimeWeightedRecorder(newLongest, ticker, created);
        copy.level = level;
        copy.integratedTo = integratedTo;
        copy.headSecond = headSecond;
        copy.recording = recording;
        copy.origin = origin;
        copy.everBusy = everBusy;
        copy.lastBusy = lastBusy;
        int keep = Math.min(buckets.length, copy.buckets.length);
        for (long second = headSecond - keep + 1; second <= headSecond; second++) {
            copy.buckets[copy.slot(second)] = buckets[slot(second)];
        }
        return copy;
    }

    @Override
    public synchronized void requestStarted() {
        long now = ticker.read();
        setLevel(now, level + 1);
    }

    @Override
    public synchronized void requestEnded() {
        long now = ticker.read();
        requireState(level > 0, "requestEnded() with no request in flight");
        setLevel(now, level - 1);
    }

    @Override
    public synchronized void sample(int inFlight) {
        requireArgument(inFlight >= 0, "in-flight sample must be >= 0, got %d", inFlight);
        setLevel(ticker.read(), inFlight);
    }

    /** Moves the step function to {@code newLevel} at {@code now}. Caller holds the monitor. */
    private void setLevel(long now, int newLevel) {
        if (newLevel > 0 && level == 0 && (!recording || !everBusy || now - lastBusy >= longestNanos)) {
            startRecording(now);
        }
        advance(now);
        if (level > 0 && newLevel == 0) {
            lastBusy = now;
        }
        if (newLevel > 0) {
            everBusy = true;
        }
        level = newLevel;
    }

    private void startRecording(long now) {
        recording = true;
        origin = now;
        integratedTo = now;
        headSecond = Math.floorDiv(now, NANOS_PER_SECOND);
        Arrays.fill(buckets, 0L);
    }

    /** Integrates the current level up to {@code now} and rolls the ring to now's second. */
    private void advance(long now) {
        if (!recording || now - integratedTo <= 0) {
            return;
        }
        long nowSecond = Math.floorDiv(now, NANOS_PER_SECOND);
        long t = integratedTo;
        long keepFrom = (nowSecond - buckets.length + 1) * NANOS_PER_SECOND;
        if (keepFrom - t > 0) {
            t = keepFrom; // everything before falls out of the ring anyway
        }
        while (now - t > 0) {
            long second = Math.floorDiv(t, NANOS_PER_SECOND);
            long end = Math.min((second + 1) * NANOS_PER_SECOND, now);
            roll(second);
            buckets[slot(second)] += level * (end - t);
            t = end;
        }
        roll(nowSecond);
        integratedTo = now;
    }

    /** Makes {@code second} the newest bucket, zeroing the slots of the seconds skipped. */
    private void roll(long second) {
        long ahead = second - headSecond;
        if (ahead <= 0) {
            return;
        }
        if (ahead >= buckets.length) {
            Arrays.fill(buckets, 0L);
        } else {
            for (long s = headSecond + 1; s <= second; s++) {
                buckets[slot(s)] = 0L;
            }
        }
        headSecond = second;
    }

    private int slot(long second) {
        return (int) Math.floorMod(second, (long) buckets.length);
    }

    @Override
    public synchronized int inFlight() {
        return level;
    }

    @Override
    public synchronized double averageConcurrency(Duration window) { // time read under the monitor, after any event
        Checks.positive(window, "window");
        requireArgument(window.compareTo(longestWindow) <= 0,
                "window %s is longer than the recorder keeps (%s)", seconds(window), seconds(longestWindow));
        return average(window.toNanos(), ticker.read());
    }

    /** {@link #averageConcurrency(Duration)} for a validated window in nanoseconds, at {@code now}. */
    synchronized double average(long windowNanos, long now) {
        if (!recording) {
            return level;
        }
        advance(now);
        long span = Math.min(windowNanos, now - origin);
        if (span <= 0) {
            return level;
        }
        long start = now - span;
        double sum = 0;
        for (long second = Math.floorDiv(start, NANOS_PER_SECOND); second <= headSecond; second++) {
            long bucketStart = second * NANOS_PER_SECOND;
            long coveredEnd = Math.min(bucketStart + NANOS_PER_SECOND, now);
            long covered = coveredEnd - bucketStart;
            long inside = coveredEnd - Math.max(bucketStart, start);
            if (covered <= 0 || inside <= 0) {
                continue;
            }
            long value = buckets[slot(second)];
            sum += inside == covered ? value : value * ((double) inside / covered);
        }
        return Math.round(sum / span * 1e6) / 1e6;
    }

    @Override
    public synchronized Duration idleFor() {
        return idleFor(ticker.read());
    }

    /** {@link #idleFor()} at {@code now}. */
    synchronized Duration idleFor(long now) {
        if (level > 0) {
            return Duration.ZERO;
        }
        return Duration.ofNanos(Math.max(0, now - (everBusy ? lastBusy : created)));
    }

    /** @return whether a request has ever been in flight */
    synchronized boolean everBusy() {
        return everBusy;
    }

    @Override
    public Duration longestWindow() {
        return longestWindow;
    }

    @Override
    public synchronized String toString() {
        return "ConcurrencyRecorder[inFlight=" + level + ", longestWindow=" + seconds(longestWindow) + "]";
    }
}
