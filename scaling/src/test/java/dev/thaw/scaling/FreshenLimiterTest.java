package dev.thaw.scaling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FreshenLimiterTest {
    private final FakeTicker ticker = new FakeTicker();

    private FreshenLimiter limiter(int calls, long windowSeconds) {
        return FreshenLimiter.create(new FreshenLimits(calls, Duration.ofSeconds(windowSeconds), Duration.ofMillis(500)), ticker);
    }

    @Test
    void defaults() {
        FreshenLimits d = FreshenLimits.defaults();
        assertThat(d.maxCalls()).isEqualTo(10);
        assertThat(d.window()).isEqualTo(Duration.ofSeconds(60));
        assertThat(d.maxTimePerCall()).isEqualTo(Duration.ofSeconds(1));
    }

    @ParameterizedTest(name = "{0} calls per {1} s")
    @CsvSource({"1, 1", "3, 10", "10, 60", "100, 3600"})
    void beyondTheBudgetCallsAreRefusedUntilTheOldestLeavesTheWindow(int calls, long window) {
        FreshenLimiter limiter = limiter(calls, window);
        for (int i = 0; i < calls; i++) {
            assertThat(limiter.tryAcquire("hello")).isEqualTo(new FreshenPermit.Granted(Duration.ofMillis(500)));
            ticker.advanceMillis(1);
        }
        FreshenPermit refused = limiter.tryAcquire("hello");
        long waitMs = window * 1000 - calls;
        assertThat(refused).isEqualTo(new FreshenPermit.Refused("freshen of 'hello' refused: " + calls + " call"
                + (calls == 1 ? "" : "s") + " in the last " + window + " s (the limit); the next is allowed in "
                + Checks.seconds(Duration.ofMillis(waitMs)), Optional.of(Duration.ofMillis(waitMs))));

        ticker.advanceMillis(waitMs - 1);
        assertThat(limiter.tryAcquire("hello").granted()).as("1 ms early").isFalse();
        ticker.advanceMillis(1);
        assertThat(limiter.tryAcquire("hello").granted()).as("the oldest call has left the window").isTrue();
        assertThat(limiter.tryAcquire("hello").granted()).as("only one has").isFalse();
        assertThat(limiter.usage("hello").refused()).isEqualTo(3);
        assertThat(limiter.usage("hello").granted()).isEqualTo(calls + 1);
    }

    @Test
    void theBudgetRecoversCompletelyAfterAQuietWindow() {
        FreshenLimiter limiter = limiter(5, 60);
        for (int i = 0; i < 5; i++) {
            limiter.tryAcquire("f");
        }
        assertThat(limiter.tryAcquire("f").granted()).isFalse();
        ticker.advanceSeconds(60);
        for (int i = 0; i < 5; i++) {
            assertThat(limiter.tryAcquire("f").granted()).isTrue();
        }
        assertThat(limiter.tryAcquire("f").granted()).isFalse();
    }

    /** Whatever the arrivals, no window ever holds more than maxCalls grants (a token bucket would let 2x through). */
    @Test
    void noWindowEverHoldsMoreThanTheBudget() {
        FreshenLimiter limiter = limiter(7, 10);
        Random random = new Random(42);
        ArrayDeque<Long> grants = new ArrayDeque<>();
        long window = Duration.ofSeconds(10).toNanos();
        int granted = 0;
        for (int i = 0; i < 20_000; i++) {
            ticker.advanceMillis(random.nextInt(random.nextBoolean() ? 5 : 3_000));
            if (limiter.tryAcquire("f").granted()) {
                granted++;
                long now = ticker.read();
                grants.addLast(now);
                while (now - grants.peekFirst() >= window) {
                    grants.pollFirst();
                }
                assertThat(grants).hasSizeLessThanOrEqualTo(7);
            }
        }
        assertThat(granted).isGreaterThan(1_000);
    }

    @Test
    void functionsHaveBudgetsOfTheirOwn() {
        FreshenLimiter limiter = limiter(1, 60);
        assertThat(limiter.tryAcquire("a").granted()).isTrue();
        assertThat(limiter.tryAcquire("a").granted()).isFalse();
        assertThat(limiter.tryAcquire("b").granted()).isTrue();
    }

    @Test
    void aConfiguredFunctionHasItsOwnLimitsAndKeepsItsRecentCalls() {
        FreshenLimiter limiter = limiter(3, 60);
        for (int i = 0; i < 3; i++) {
            limiter.tryAcquire("f");
            ticker.advanceSeconds(1);
        }
        FreshenLimits generous = new FreshenLimits(5, Duration.ofSeconds(60), Duration.ofSeconds(2));
        limiter.configure("f", generous);
        assertThat(limiter.limits("f")).isEqualTo(generous);
        assertThat(limiter.limits("other")).isEqualTo(new FreshenLimits(3, Duration.ofSeconds(60), Duration.ofMillis(500)));
        assertThat(limiter.tryAcquire("f")).isEqualTo(new FreshenPermit.Granted(Duration.ofSeconds(2)));
        assertThat(limiter.tryAcquire("f").granted()).isTrue();
        assertThat(limiter.tryAcquire("f").granted()).as("the 3 earlier calls still count").isFalse();

        limiter.configure("f", new FreshenLimits(2, Duration.ofSeconds(60), Duration.ofSeconds(1)));
        ticker.advanceSeconds(59); // at 62 s the two newest calls (at 3 s) are still within 60 s
        assertThat(limiter.tryAcquire("f").granted()).isFalse();
        ticker.advanceSeconds(1);
        assertThat(limiter.tryAcquire("f").granted()).isTrue();
    }

    @Test
    void disabledFreshenIsRefusedWithoutARetryTime() {
        FreshenLimiter limiter = limiter(0, 60);
        assertThat(limiter.tryAcquire("f")).isEqualTo(
                new FreshenPermit.Refused("freshen of 'f' is disabled (0 calls allowed per 60 s)", Optional.empty()));
    }

    @Test
    void freshenTimeIsAccountedAndOverrunsCounted() {
        FreshenLimiter limiter = limiter(10, 60);
        limiter.tryAcquire("f");
        limiter.recordTime("f", Duration.ofMillis(120));
        limiter.tryAcquire("f");
        limiter.recordTime("f", Duration.ofMillis(700)); // over its 500 ms limit: billed, and counted
        assertThat(limiter.usage("f")).isEqualTo(new FreshenUsage(2, 0, Duration.ofMillis(820), 1));
        limiter.recordTime("f", Duration.ofMillis(500)); // exactly the limit is no overrun
        assertThat(limiter.usage("f")).isEqualTo(new FreshenUsage(2, 0, Duration.ofMillis(1320), 1));
        assertThat(limiter.usage("never")).isEqualTo(new FreshenUsage(0, 0, Duration.ZERO, 0));
        limiter.forget("f");
        assertThat(limiter.usage("f")).isEqualTo(new FreshenUsage(0, 0, Duration.ZERO, 0));
    }

    @Test
    void badArgumentsAreNamed() {
        assertThatThrownBy(() -> new FreshenLimits(-1, Duration.ofSeconds(1), Duration.ofSeconds(1)))
                .hasMessage("freshen maxCalls must be between 0 and 10000, got -1");
        assertThatThrownBy(() -> new FreshenLimits(1, Duration.ZERO, Duration.ofSeconds(1)))
                .hasMessage("freshen window must be positive, got 0 s");
        assertThatThrownBy(() -> new FreshenLimits(1, Duration.ofHours(2), Duration.ofSeconds(1)))
                .hasMessage("freshen window must be at most 1 h, got 7200 s");
        assertThatThrownBy(() -> new FreshenLimits(1, Duration.ofSeconds(1), Duration.ofMillis(-5)))
                .hasMessage("freshen maxTimePerCall must be positive, got -0.005 s");
        FreshenLimiter limiter = limiter(1, 1);
        assertThatThrownBy(() -> limiter.recordTime("f", Duration.ofSeconds(-1))).hasMessage("freshen time must not be negative, got -1 s");
    }
}
