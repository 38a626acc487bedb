package dev.thaw.scaling;

/**
 * A time source in nanoseconds since a fixed but arbitrary origin, as {@link System#nanoTime()}.
 * Every policy in this package reads time only through the ticker it was created with, so tests
 * drive windows, grace periods and rate limits by hand instead of sleeping; an {@code AtomicLong}'s
 * {@code get} is a ticker ({@code Ticker t = clock::get}).
 *
 * <p>Readings are compared by subtraction, so their origin does not matter and they may be
 * negative; a ticker must never go backwards.
 */
@FunctionalInterface
public interface Ticker {

    /** @return nanoseconds since this ticker's origin */
    long read();

    /** @return the ticker that reads {@link System#nanoTime()} */
    static Ticker system() {
        return SystemTicker.INSTANCE;
    }
}

/** {@link Ticker#system()}. */
enum SystemTicker implements Ticker {
    INSTANCE;

    @Override
    public long read() {
        return System.nanoTime();
    }
}
