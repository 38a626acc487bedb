package dev.thaw.scaling;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/** The answer of {@link FreshenLimiter#tryAcquire(String)}. */
public sealed interface FreshenPermit {

    /** @return whether freshen may run */
    boolean granted();

    /**
     * Freshen may run, for at most {@code timeLimit}; the node stops it there and reports the time
     * it took with {@link FreshenLimiter#recordTime(String, Duration)}.
     *
     * @param timeLimit the function's {@link FreshenLimits#maxTimePerCall()}
     */
    record Granted(Duration timeLimit) implements FreshenPermit {
        /** Checks that the limit is not null. */
        public Granted {
            Objects.requireNonNull(timeLimit, "timeLimit");
        }

        @Override
        public boolean granted() {
            return true;
        }
    }

    /**
     * Freshen may not run.
     *
     * @param reason a sentence naming the function and the limit
     * @param retryAfter when a call would be granted again; empty when freshen is disabled
     */
    record Refused(String reason, Optional<Duration> retryAfter) implements FreshenPermit {
        /** Checks that neither is null. */
        public Refused {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(retryAfter, "retryAfter");
        }

        @Override
        public boolean granted() {
            return false;
        }
    }
}
