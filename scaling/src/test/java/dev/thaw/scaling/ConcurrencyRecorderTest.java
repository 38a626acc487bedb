package dev.thaw.scaling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ConcurrencyRecorderTest {
    private static final Duration MINUTE = Duration.ofSeconds(60);
    private static final Duration SIX = Duration.ofSeconds(6);

    private final FakeTicker ticker = new FakeTicker();
    private final ConcurrencyRecorder recorder = ConcurrencyRecorder.create(MINUTE, ticker);

    @Test
    void nothingRecordedAveragesToZero() {
        ticker.advanceSeconds(30);
        assertThat(recorder.averageConcurrency(MINUTE)).isZero();
        assertThat(recorder.inFlight()).isZero();
    }

    @Test
    void aSteadyCountAveragesToItselfOverEveryWindow() {
        recorder.sample(3);
        ticker.advanceSeconds(90);
        assertThat(recorder.averageConcurrency(MINUTE)).isEqualTo(3.0);
        assertThat(recorder.averageConcurrency(SIX)).isEqualTo(3.0);
        assertThat(recorder.averageConcurrency(Duration.ofSeconds(1))).isEqualTo(3.0);
    }

    @Test
    void eachSecondIsTimeWeighted() {
        recorder.requestStarted();
        ticker.advanceMillis(250);
        recorder.requestStarted();
        ticker.advanceMillis(250); // 1 for 0.25 s, 2 for 0.25 s, then 0 for 0.5 s
        recorder.requestEnded();
        recorder.requestEnded();
        ticker.advanceMillis(500);
        assertThat(recorder.averageConcurrency(Duration.ofSeconds(1))).isEqualTo(0.75);
    }

    @Test
    void theStableWindowAveragesOverItsWholeLength() {
        recorder.sample(1);
        ticker.advanceSeconds(54);
        recorder.sample(10);
        ticker.advanceSeconds(6);
        assertThat(recorder.averageConcurrency(MINUTE)).isEqualTo((54 + 60) / 60.0);
        assertThat(recorder.averageConcurrency(SIX)).isEqualTo(10.0);
    }

    @Test
    void aBurstAfterAQuietSpellIsAveragedOverTheTimeSinceItBegan() {
        ticker.advanceSeconds(3600);
        recorder.sample(10);
        ticker.advanceSeconds(2);
        assertThat(recorder.averageConcurrency(MINUTE)).isEqualTo(10.0);
        assertThat(recorder.averageConcurrency(SIX)).isEqualTo(10.0);
    }

    @Test
    void aBurstAfterAQuietSpellLongerThanTheWindowIsNotDilutedEither() {
        recorder.sample(5);
        ticker.advanceSeconds(10);
        recorder.sample(0);
        ticker.advanceSeconds(60);
        recorder.sample(10);
        ticker.advanceSeconds(2);
        assertThat(recorder.averageConcurrency(MINUTE)).isEqualTo(10.0);
    }

    @Test
    void aSteadyCountIsExactWhereverTheWindowStarts() {
        recorder.sample(3);
        ticker.advanceSeconds(70);
        for (int tenths = 1; tenths < 10; tenths++) {
            ticker.advanceMillis(100);
            assertThat(recorder.averageConcurrency(Duration.ofSeconds(10))).as("%d tenths", tenths).isEqualTo(3.0);
            assertThat(recorder.averageConcurrency(Duration.ofMillis(6_300))).as("%d tenths", tenths).isEqualTo(3.0);
        }
    }

    @Test
    void atTheFirstInstantTheAverageIsTheCount() {
        recorder.requestStarted();
        assertThat(recorder.averageConcurrency(MINUTE)).isEqualTo(1.0);
    }

    @Test
    void aQuietSpellShorterThanTheWindowCountsAsZeros() {
        recorder.sample(6);
        ticker.advanceSeconds(30);
        recorder.sample(0);
        ticker.advanceSeconds(30);
        assertThat(recorder.averageConcurrency(MINUTE)).isEqualTo(3.0);
        ticker.advanceSeconds(15);
        assertThat(recorder.averageConcurrency(MINUTE)).isEqualTo(1.5);
        ticker.advanceSeconds(15);
        assertThat(recorder.averageConcurrency(MINUTE)).isZero();
    }

    @Test
    void theOldestSecondOfAWindowCountsProRata() {
        recorder.sample(2);
        ticker.advanceSeconds(10);
        recorder.sample(0);
        ticker.advanceMillis(500); // window [0.5 s, 10.5 s): 9.5 s at 2, 0.5 s at 0
        assertThat(recorder.averageConcurrency(Duration.ofSeconds(10))).isEqualTo(1.9);
    }

    @Test
    @org.junit.jupiter.api.Timeout(10)
    void aGapOfCenturiesCostsNothing() {
        recorder.sample(2);
        ticker.advance(Duration.ofDays(365L * 250));
        assertThat(recorder.averageConcurrency(MINUTE)).isEqualTo(2.0);
    }

    @Test
    void longGapsAreSkippedAndForgotten() {
        recorder.sample(5);
        ticker.advance(Duration.ofDays(3650));
        assertThat(recorder.averageConcurrency(MINUTE)).isEqualTo(5.0);
        recorder.sample(0);
        ticker.advance(Duration.ofDays(3650));
        assertThat(recorder.averageConcurrency(MINUTE)).isZero();
    }

    @Test
    void idleForCountsFromTheLastRequestsEnd() {
        ticker.advanceSeconds(7);
        assertThat(recorder.idleFor()).isEqualTo(Duration.ofSeconds(7)); // since creation
        recorder.requestStarted();
        ticker.advanceSeconds(2);
        assertThat(recorder.idleFor()).isZero();
        recorder.requestEnded();
        ticker.advanceSeconds(12);
        assertThat(recorder.idleFor()).isEqualTo(Duration.ofSeconds(12));
    }

    @Test
    void samplesAndEventsSetTheSameCount() {
        recorder.requestStarted();
        recorder.requestStarted();
        recorder.sample(5);
        recorder.requestEnded();
        assertThat(recorder.inFlight()).isEqualTo(4);
    }

    @Test
    void anEndWithoutAStartIsACallerBug() {
        assertThatThrownBy(recorder::requestEnded)
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("no request in flight");
    }

    @Test
    void badArgumentsAreNamed() {
        assertThatThrownBy(() -> recorder.sample(-2)).hasMessage("in-flight sample must be >= 0, got -2");
        assertThatThrownBy(() -> recorder.averageConcurrency(Duration.ofSeconds(61)))
                .hasMessage("window 61 s is longer than the recorder keeps (60 s)");
        assertThatThrownBy(() -> recorder.averageConcurrency(Duration.ZERO)).hasMessage("window must be positive, got 0 s");
        assertThatThrownBy(() -> ConcurrencyRecorder.create(Duration.ofMillis(500), ticker))
                .hasMessage("longest window must be between 1 s and 3600 s, got 0.5 s");
        assertThatThrownBy(() -> ConcurrencyRecorder.create(Duration.ofHours(2), ticker))
                .hasMessageContaining("got 7200 s");
    }

    /** The same traffic gives the same figures wherever the ticker's origin is, negative included. */
    @ParameterizedTest
    @ValueSource(longs = {0L, -7L, 9_000_000_000L, -4_611_686_018L})
    void figuresDoNotDependOnTheTickersOrigin(long originSeconds) {
        FakeTicker t = new FakeTicker(originSeconds * 1_000_000_000L);
        ConcurrencyRecorder r = ConcurrencyRecorder.create(MINUTE, t);
        r.sample(4);
        t.advanceMillis(30_500);
        r.sample(1);
        t.advanceMillis(29_500);
        assertThat(r.averageConcurrency(MINUTE)).isEqualTo((4 * 30.5 + 29.5) / 60, offset(1e-6));
        assertThat(r.averageConcurrency(SIX)).isEqualTo(1.0);
    }

    /**
     * Off whole seconds, the oldest bucket is counted pro rata and a change inside it may be placed
     * wrongly: the error is at most one second of the largest count, over the window.
     */
    @ParameterizedTest
    @ValueSource(longs = {1L, 250_000_000L, 999_999_999L, -1L, -700_000_001L})
    void offWholeSecondsTheErrorIsAtMostOneSecondsWorth(long originNanos) {
        FakeTicker t = new FakeTicker(originNanos);
        ConcurrencyRecorder r = ConcurrencyRecorder.create(MINUTE, t);
        r.sample(4);
        t.advanceMillis(30_500);
        r.sample(1);
        t.advanceMillis(35_000);
        double exact = (4 * 25.5 + 35) / 60.0;
        assertThat(r.averageConcurrency(MINUTE)).isEqualTo(exact, offset(4 / 60.0));
    }
}
