package dev.thaw.node.pool;

/**
 * The time a pool schedules by: a monotonic nanosecond count for durations and the wall clock for
 * the deadlines runtimes are given. Injected so that scheduling is tested with a clock the test
 * moves by hand, as Caffeine tests its policies with a fake ticker.
 */
public interface Ticker {
    /** @return a monotonic time in nanoseconds (only differences mean anything) */
    long nanos();

    /** @return the wall clock in milliseconds since the epoch */
    long epochMillis();

    /** @return the system's clocks */
    static Ticker system() {
        return SystemTicker.INSTANCE;
    }

    /** The JDK's clocks. */
    enum SystemTicker implements Ticker {
        INSTANCE;

        @Override
        public long nanos() {
            return System.nanoTime();
        }

        @Override
        public long epochMillis() {
            return System.currentTimeMillis();
        }
    }
}
