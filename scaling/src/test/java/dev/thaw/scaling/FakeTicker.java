package dev.thaw.scaling;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** A ticker that moves only when told to, as Caffeine's tests drive time. */
final class FakeTicker implements Ticker {
    private final AtomicLong nanos;

    /** Starts at an arbitrary whole second that is not zero, so tests do not depend on the origin. */
    FakeTicker() {
        this(1_000_000L * 1_000_000_000L);
    }

    FakeTicker(long start) {
        nanos = new AtomicLong(start);
    }

    FakeTicker advance(Duration d) {
        nanos.addAndGet(d.toNanos());
        return this;
    }

    FakeTicker advanceMillis(long millis) {
        return advance(Duration.ofMillis(millis));
    }

    FakeTicker advanceSeconds(long seconds) {
        return advance(Duration.ofSeconds(seconds));
    }

    @Override
    public long read() {
        return nanos.get();
    }
}
