package dev.thaw.scaling;

import static dev.thaw.scaling.Checks.seconds;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/*
 * Design. A sliding-window log rather than a token bucket: "at most N in any window" is then exact
 * (a token bucket of N refilled at N per window lets 2N through in a window that starts full), the
 * refusal can say exactly when the next call is allowed (when the oldest of the last N grants
 * leaves the window), and the memory is the same N timestamps a bucket would need to explain
 * itself. Per function, a ring of its last maxCalls grant times; a call is granted when the ring is
 * not full or its oldest entry is a whole window old, and then overwrites it.
 */
final class SlidingWindowFreshenLimiter implements FreshenLimiter {
    private final FreshenLimits defaults;
    private final Ticker ticker;
    private final Map<String, State> states = new HashMap<>();

    SlidingWindowFreshenLimiter(FreshenLimits defaults, Ticker ticker) {
        this.defaults = defaults;
        this.ticker = ticker;
    }

    private static final class State {
        FreshenLimits limits;
        long[] grants;
        int count;
        int next;
        long granted;
        long refused;
        long timeNanos;
        long overruns;

        State(FreshenLimits limits) {
            this.limits = limits;
            this.grants = new long[limits.maxCalls()];
        }

        /** The oldest of the last maxCalls grants; only when the ring is full. */
        long oldest() {
            return grants[next];
        }

        void add(long now) {
            grants[next] = now;
            next = (next + 1) % grants.length;
            count = Math.min(count + 1, grants.length);
        }

        void resize(FreshenLimits newLimits) {
            long[] resized = new long[newLimits.maxCalls()];
            int keep = Math.min(count, resized.length);
            for (int i = 0; i < keep; i++) { // the newest `keep` grants, oldest first
                resized[i] = grants[Math.floorMod(next - keep + i, Math.max(1, grants.length))];
            }
            grants = resized;
            count = keep;
            next = resized.length == 0 ? 0 : keep % resized.length;
            limits = newLimits;
        }
    }

    private State state(String function) {
        return states.computeIfAbsent(Checks.function(function), f -> new State(defaults));
    }

    @Override
    public synchronized FreshenPermit tryAcquire(String function) {
        State s = state(function);
        FreshenLimits l = s.limits;
        if (l.maxCalls() == 0) {
            s.refused++;
            return new FreshenPermit.Refused("freshen of '" + function + "' is disabled (0 calls allowed per "
                    + seconds(l.window()) + ")", Optional.empty());
        }
        long now = ticker.read();
        long window = l.window().toNanos();
        if (s.count == s.grants.length && now - s.oldest() < window) {
            s.refused++;
            long wait = s.oldest() + window - now;
            return new FreshenPermit.Refused("freshen of '" + function + "' refused: " + l.maxCalls() + " call"
                    + (l.maxCalls() == 1 ? "" : "s") + " in the last " + seconds(l.window())
                    + " (the limit); the next is allowed in " + seconds(wait), Optional.of(Duration.ofNanos(wait)));
        }
        s.add(now);
        s.granted++;
        return new FreshenPermit.Granted(l.maxTimePerCall());
    }

    @Override
    public synchronized void recordTime(String function, Duration used) {
        Checks.notNegative(used, "freshen time");
        State s = state(function);
        s.timeNanos = saturatedAdd(s.timeNanos, used.toNanos());
        if (used.compareTo(s.limits.maxTimePerCall()) > 0) {
            s.overruns++;
        }
    }

    private static long saturatedAdd(long a, long b) {
        long sum = a + b;
        return ((a ^ sum) & (b ^ sum)) < 0 ? Long.MAX_VALUE : sum;
    }

    @Override
    public synchronized FreshenUsage usage(String function) {
        State s = states.get(Checks.function(function));
        return s == null ? new FreshenUsage(0, 0, Duration.ZERO, 0)
                : new FreshenUsage(s.granted, s.refused, Duration.ofNanos(s.timeNanos), s.overruns);
    }

    @Override
    public synchronized void configure(String function, FreshenLimits limits) {
        Objects.requireNonNull(limits, "limits");
        State s = state(function);
        s.resize(limits);
    }

    @Override
    public synchronized FreshenLimits limits(String function) {
        State s = states.get(Checks.function(function));
        return s == null ? defaults : s.limits;
    }

    @Override
    public synchronized void forget(String function) {
        states.remove(Checks.function(function));
    }

    @Override
    public synchronized String toString() {
        return "FreshenLimiter[" + states.size() + " functions, defaults " + defaults + "]";
    }
}
