package dev.thaw.scaling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class AutoscalerTest {
    private final FakeTicker ticker = new FakeTicker();

    private Autoscaler scaler(UnaryOperator<ScalingSettings.Builder> settings) {
        return Autoscaler.create(settings.apply(ScalingSettings.builder()).build(), ticker);
    }

    /** Holds {@code inFlight} for {@code seconds}, without deciding. */
    private void hold(Autoscaler a, int inFlight, long seconds) {
        a.sample(inFlight);
        ticker.advanceSeconds(seconds);
    }

    @Test
    void defaultsAreKnativesWithLambdasTarget() {
        ScalingSettings s = ScalingSettings.defaults();
        assertThat(s.minInstances()).isZero();
        assertThat(s.maxInstances()).isEqualTo(8);
        assertThat(s.targetConcurrency()).isEqualTo(1.0);
        assertThat(s.stableWindow()).isEqualTo(Duration.ofSeconds(60));
        assertThat(s.panicWindow()).isEqualTo(Duration.ofSeconds(6));
        assertThat(s.panicThresholdPercentage()).isEqualTo(200.0);
        assertThat(s.scaleToZeroGracePeriod()).isEqualTo(Duration.ofSeconds(30));
        assertThat(s.maxScaleUpRate()).isEqualTo(1000.0);
        assertThat(s.maxScaleDownRate()).isEqualTo(2.0);
        assertThat(s.tickInterval()).isEqualTo(Duration.ofSeconds(2));
        assertThat(s.targetBurstCapacity()).isZero();
        assertThat(s.toBuilder().build()).isEqualTo(s);
    }

    @Test
    void noTrafficNoInstances() {
        Autoscaler a = scaler(b -> b);
        ticker.advanceSeconds(100);
        ScaleDecision d = a.decide(0);
        assertThat(d.desiredInstances()).isZero();
        assertThat(d.reason()).isEqualTo("no traffic");
        assertThat(a.lastDecision()).contains(d);
    }

    /** desired = ceil(stable concurrency / target), whatever the target. */
    @ParameterizedTest(name = "{0} in flight, target {1}: {2}")
    @CsvSource({"1, 1, 1", "4, 1, 4", "5, 2, 3", "10, 3, 4", "100, 100, 1", "7, 0.5, 14", "99, 10, 10"})
    void theStableWindowSetsTheCount(int inFlight, double target, int expected) {
        Autoscaler a = scaler(b -> b.targetConcurrency(target).maxInstances(1000));
        hold(a, inFlight, 60);
        ScaleDecision d = a.decide(expected);
        assertThat(d.desiredInstances()).isEqualTo(expected);
        assertThat(d.panicking()).isFalse();
        assertThat(d.stableConcurrency()).isEqualTo(inFlight);
        assertThat(d.reason()).startsWith("stable: ");
    }

    @Test
    void theStableWindowIsAnAverage() {
        Autoscaler a = scaler(b -> b);
        hold(a, 2, 30);
        hold(a, 6, 30);
        ScaleDecision d = a.decide(4);
        assertThat(d.stableConcurrency()).isEqualTo(4.0);
        assertThat(d.panicConcurrency()).isEqualTo(6.0);
        assertThat(d.desiredInstances()).isEqualTo(4); // 6 < 200 % of 4: no panic
        assertThat(d.panicking()).isFalse();
    }

    /** Panic starts when the panic window's concurrency reaches the threshold x ready x target. */
    @ParameterizedTest(name = "ready {0}, {1} in flight, threshold {2} %: panic {3}")
    @CsvSource({
            "1, 1, 200, false", "1, 2, 200, true",
            "2, 3, 200, false", "2, 4, 200, true",
            "4, 7, 200, false", "4, 8, 200, true",
            "2, 2, 150, false", "2, 3, 150, true",
            "0, 1, 200, false", "0, 2, 200, true"})
    void panicStartsAtTheThreshold(int ready, int burst, double threshold, boolean panics) {
        Autoscaler a = scaler(b -> b.panicThresholdPercentage(threshold).maxInstances(100));
        hold(a, Math.min(ready, burst), 54);
        hold(a, burst, 6);
        ScaleDecision d = a.decide(ready);
        assertThat(d.panicking()).isEqualTo(panics);
        assertThat(d.reason().startsWith("panic: ")).isEqualTo(panics);
        if (panics) {
            assertThat(d.desiredInstances()).isEqualTo(burst);
        }
    }

    /** Knative compares ceil(1.5) = 2 instances with 1 ready, and panics; the concurrency itself is below 200 %. */
    @Test
    void aFractionalAverageBelowTheThresholdDoesNotPanic() {
        Autoscaler a = scaler(b -> b);
        hold(a, 1, 54);
        hold(a, 1, 3);
        hold(a, 2, 3);
        ScaleDecision d = a.decide(1);
        assertThat(d.panicConcurrency()).isEqualTo(1.5);
        assertThat(d.panicking()).isFalse();
    }

    @Test
    void noScaleDownWhilePanickingAndPanicEndsAfterAStableWindowBelowTheThreshold() {
        Autoscaler a = scaler(b -> b.maxInstances(100));
        hold(a, 1, 54);
        hold(a, 10, 6);
        ScaleDecision burst = a.decide(1);
        assertThat(burst.panicking()).isTrue();
        assertThat(burst.desiredInstances()).isEqualTo(10);

        a.sample(1); // the burst is over
        for (int t = 2; t < 60; t += 2) {
            ticker.advanceSeconds(2);
            ScaleDecision d = a.decide(10);
            assertThat(d.panicking()).as("at %d s", t).isTrue();
            assertThat(d.desiredInstances()).as("at %d s", t).isEqualTo(10);
        }
        ticker.advanceSeconds(2); // a whole stable window since the last decision over the threshold
        ScaleDecision calm = a.decide(10);
        assertThat(calm.panicking()).isFalse();
        assertThat(calm.desiredInstances()).isEqualTo(5); // wants 1, but at most halves
        assertThat(calm.reason()).isEqualTo("scale-down limited to 1/2 of the 10 ready");
    }

    @Test
    void panicNeverScalesBelowTheCountDecidedBeforeIt() {
        Autoscaler a = scaler(b -> b.maxInstances(100));
        hold(a, 6, 60);
        assertThat(a.decide(6).desiredInstances()).isEqualTo(6);
        hold(a, 1, 54);
        hold(a, 8, 6); // stable (54 + 48) / 60 = 1.7 wants 2, panic wants 8; 8 >= 2 x 3 ready
        ScaleDecision d = a.decide(3);
        assertThat(d.panicking()).isTrue();
        assertThat(d.desiredInstances()).isEqualTo(8);
        a.sample(7); // still over 2 x 3, panic wants 7, the floor keeps 8
        ticker.advanceSeconds(2);
        assertThat(a.decide(3).desiredInstances()).isEqualTo(8);
    }

    /** Knative starts panic from the panic count alone; here panic never goes below the count decided before it. */
    @Test
    void enteringPanicNeverScalesDown() {
        Autoscaler a = scaler(b -> b.maxInstances(100));
        hold(a, 6, 60);
        assertThat(a.decide(6).desiredInstances()).isEqualTo(6);
        hold(a, 1, 54);
        hold(a, 4, 6); // stable 1.3 wants 2, panic wants 4; 4 >= 2 x the 2 instances still ready
        ScaleDecision d = a.decide(2);
        assertThat(d.panicking()).isTrue();
        assertThat(d.desiredInstances()).isEqualTo(6);
        assertThat(d.reason()).endsWith("; no scale-down while panicking");
    }

    @Test
    void whilePanickingTheStableWindowStillCounts() {
        Autoscaler a = scaler(b -> b.maxInstances(100));
        hold(a, 20, 54);
        hold(a, 3, 6); // panic 3 >= 2 x 1 ready; stable (1080 + 18) / 60 = 18.3
        ScaleDecision d = a.decide(1);
        assertThat(d.panicking()).isTrue();
        assertThat(d.desiredInstances()).isEqualTo(19);
    }

    /** Averages are rounded to six decimals, so a request whose trace has all but left the windows rounds to nothing. */
    @Test
    void aRequestInFlightAlwaysHasAnInstance() {
        Autoscaler a = scaler(b -> b);
        assertThat(a.requestStarted()).isTrue();
        assertThat(a.decide(0).desiredInstances()).isEqualTo(1);
        ticker.advance(Duration.ofNanos(10_000));
        a.requestEnded();
        ticker.advanceSeconds(40);
        assertThat(a.decide(1).desiredInstances()).isZero();
        assertThat(a.requestStarted()).isTrue();
        ScaleDecision d = a.decide(0);
        assertThat(d.stableConcurrency()).isZero();
        assertThat(d.desiredInstances()).isEqualTo(1);
        assertThat(d.reason()).isEqualTo("first request after zero");
    }

    @Test
    void panicExtendsWhileOverTheThreshold() {
        Autoscaler a = scaler(b -> b.maxInstances(100));
        hold(a, 1, 54);
        hold(a, 10, 6);
        assertThat(a.decide(1).panicking()).isTrue();
        ticker.advanceSeconds(50);
        a.sample(30); // over again: panic extends from here
        ticker.advanceSeconds(6);
        assertThat(a.decide(10).desiredInstances()).isEqualTo(30);
        a.sample(1);
        ticker.advanceSeconds(58);
        assertThat(a.decide(30).panicking()).isTrue();
        ticker.advanceSeconds(2);
        assertThat(a.decide(30).panicking()).isFalse();
    }

    @Test
    void minAndMaxBoundTheCount() {
        Autoscaler atLeast = scaler(b -> b.minInstances(2));
        ScaleDecision min = atLeast.decide(0);
        assertThat(min.desiredInstances()).isEqualTo(2);
        assertThat(min.reason()).isEqualTo("minInstances is 2");

        Autoscaler atMost = scaler(b -> b.maxInstances(5));
        hold(atMost, 20, 60);
        ScaleDecision max = atMost.decide(5);
        assertThat(max.desiredInstances()).isEqualTo(5);
        assertThat(max.reason()).startsWith("capped at maxInstances 5 (wanted 20; ");
    }

    @ParameterizedTest(name = "up rate {0}, {1} ready: at most {2}")
    @CsvSource({"2, 3, 6", "1.5, 1, 2", "1.5, 0, 2", "10, 2, 20", "1000, 0, 50"})
    void scaleUpIsLimitedRelativeToTheReadyInstances(double rate, int ready, int expected) {
        Autoscaler a = scaler(b -> b.maxScaleUpRate(rate).maxInstances(1000));
        hold(a, 50, 60);
        ScaleDecision d = a.decide(ready);
        assertThat(d.desiredInstances()).isEqualTo(expected);
        if (expected < 50) {
            assertThat(d.reason()).isEqualTo("scale-up limited to " + Checks.decimal(rate) + "x the " + Math.max(1, ready) + " ready");
        }
    }

    @ParameterizedTest(name = "down rate {0}, {1} ready: at least {2}")
    @CsvSource({"2, 10, 5", "4, 10, 2", "2, 3, 1", "1.1, 10, 9", "100, 10, 1"})
    void scaleDownIsLimitedRelativeToTheReadyInstances(double rate, int ready, int expected) {
        Autoscaler a = scaler(b -> b.maxScaleDownRate(rate).maxInstances(100));
        hold(a, 1, 60);
        assertThat(a.decide(ready).desiredInstances()).isEqualTo(expected);
    }

    /** Zero only once the grace period has passed since the last request ended; one instance until then. */
    @ParameterizedTest(name = "grace {0} s")
    @CsvSource({"0", "10", "30", "59", "90"})
    void scaleToZeroOnlyAfterTheGracePeriod(long grace) {
        Autoscaler a = scaler(b -> b.scaleToZeroGracePeriod(Duration.ofSeconds(grace)));
        assertThat(a.requestStarted()).isTrue();
        assertThat(a.decide(0).desiredInstances()).isEqualTo(1);
        ticker.advanceSeconds(10);
        a.requestEnded();
        int ready = 1;
        for (long idle = 0; idle <= grace + 3; idle++) {
            ScaleDecision d = a.decide(ready);
            if (idle < grace) {
                assertThat(d.desiredInstances()).as("idle %d s of %d", idle, grace).isEqualTo(1);
            } else {
                assertThat(d.desiredInstances()).as("idle %d s of %d", idle, grace).isZero();
                assertThat(d.reason()).as("idle %d s", idle).contains("the grace period is " + grace + " s");
            }
            ready = d.desiredInstances();
            ticker.advanceSeconds(1);
        }
    }

    @Test
    void idleAfterABurstScalesDownToZeroAtTheDownRate() {
        Autoscaler a = scaler(b -> b.maxInstances(100));
        hold(a, 8, 120);
        assertThat(a.decide(8).desiredInstances()).isEqualTo(8);
        hold(a, 0, 30);
        List<Integer> counts = new ArrayList<>();
        int ready = 8;
        for (int i = 0; i < 4; i++) {
            ready = a.decide(ready).desiredInstances();
            counts.add(ready);
            ticker.advanceSeconds(2);
        }
        assertThat(counts).containsExactly(4, 2, 1, 0);
    }

    @Test
    void theFirstRequestAfterZeroAsksForADecisionAtOnce() {
        Autoscaler a = scaler(b -> b);
        assertThat(a.requestStarted()).as("never decided: at zero").isTrue();
        assertThat(a.requestStarted()).as("the wake-up was already signalled").isFalse();
        a.requestEnded();
        ScaleDecision woken = a.decide(0);
        assertThat(woken.desiredInstances()).isEqualTo(1);
        assertThat(woken.reason()).isEqualTo("first request after zero");
        assertThat(a.requestStarted()).as("instances wanted now").isFalse();
        a.requestEnded();
        a.requestEnded();

        ticker.advanceSeconds(31);
        assertThat(a.decide(1).desiredInstances()).isZero();
        ticker.advanceSeconds(600);
        assertThat(a.requestStarted()).as("back at zero").isTrue();
        assertThat(a.decide(0).desiredInstances()).isEqualTo(1);
    }

    @Test
    void aSampleCanWakeTheFunctionToo() {
        Autoscaler a = scaler(b -> b);
        assertThat(a.sample(0)).isFalse();
        assertThat(a.sample(3)).isTrue();
        assertThat(a.sample(4)).isFalse();
    }

    @Test
    void aBurstAtZeroIsSizedAtTheNextTick() {
        Autoscaler a = scaler(b -> b.maxInstances(100));
        assertThat(a.requestStarted()).isTrue();
        assertThat(a.decide(0).desiredInstances()).isEqualTo(1);
        for (int i = 1; i < 50; i++) {
            assertThat(a.requestStarted()).isFalse();
        }
        ticker.advanceSeconds(2);
        ScaleDecision tick = a.decide(0);
        assertThat(tick.panicking()).isTrue();
        assertThat(tick.desiredInstances()).isEqualTo(50);
    }

    @Test
    void excessBurstCapacityIsKnatives() {
        Autoscaler a = scaler(b -> b.targetBurstCapacity(10).maxInstances(100));
        hold(a, 2, 60);
        assertThat(a.decide(5).excessBurstCapacity()).isEqualTo(-7); // 5 x 1 - 10 - 2
        assertThat(a.decide(20).excessBurstCapacity()).isEqualTo(8);
        Autoscaler off = scaler(b -> b);
        hold(off, 2, 60);
        assertThat(off.decide(5).excessBurstCapacity()).isZero();
    }

    @Test
    void updateKeepsTheHistory() {
        Autoscaler a = scaler(b -> b.maxInstances(100));
        hold(a, 4, 60);
        a.update(a.settings().toBuilder().stableWindow(Duration.ofSeconds(120)).build());
        hold(a, 2, 60);
        ScaleDecision d = a.decide(3);
        assertThat(d.stableConcurrency()).isEqualTo(3.0);
        assertThat(d.desiredInstances()).isEqualTo(3);

        a.update(a.settings().toBuilder().maxInstances(2).build());
        assertThat(a.decide(3).desiredInstances()).isEqualTo(2);
        assertThat(a.settings().maxInstances()).isEqualTo(2);
    }

    @Test
    void theDecisionShowsItsFigures() {
        Autoscaler a = scaler(b -> b);
        hold(a, 3, 60);
        ScaleDecision d = a.decide(2);
        assertThat(d).isEqualTo(new ScaleDecision(3, 2, 3, 3.0, 3.0, false, 0,
                "stable: 3 in flight over 60 s, target 1 per instance"));
        assertThat(d.toString()).isEqualTo(
                "desired 3 (ready 2, in flight 3, stable 3, panic 3): stable: 3 in flight over 60 s, target 1 per instance");
    }

    static Stream<Arguments> badSettings() {
        return Stream.of(
                Arguments.of((UnaryOperator<ScalingSettings.Builder>) b -> b.minInstances(-1), "minInstances must be >= 0, got -1"),
                Arguments.of((UnaryOperator<ScalingSettings.Builder>) b -> b.maxInstances(0), "maxInstances must be >= 1, got 0"),
                Arguments.of((UnaryOperator<ScalingSettings.Builder>) b -> b.minInstances(5).maxInstances(3),
                        "minInstances (5) must not exceed maxInstances (3)"),
                Arguments.of((UnaryOperator<ScalingSettings.Builder>) b -> b.targetConcurrency(0), "targetConcurrency must be > 0, got 0.0"),
                Arguments.of((UnaryOperator<ScalingSettings.Builder>) b -> b.targetConcurrency(Double.NaN), "targetConcurrency must be > 0, got NaN"),
                Arguments.of((UnaryOperator<ScalingSettings.Builder>) b -> b.stableWindow(Duration.ofSeconds(5)),
                        "stableWindow must be between 6 s and 3600 s, got 5 s"),
                Arguments.of((UnaryOperator<ScalingSettings.Builder>) b -> b.stableWindow(Duration.ofMillis(61_500)),
                        "stableWindow must be whole seconds, got 61.5 s"),
                Arguments.of((UnaryOperator<ScalingSettings.Builder>) b -> b.panicWindowPercentage(0.5),
                        "panicWindowPercentage must be between 1 and 100, got 0.5"),
                Arguments.of((UnaryOperator<ScalingSettings.Builder>) b -> b.stableWindow(Duration.ofSeconds(6)).tickInterval(Duration.ofSeconds(1)),
                        "the panic window (10% of the 6 s stable window = 0.6 s) must be at least 1 s"),
                Arguments.of((UnaryOperator<ScalingSettings.Builder>) b -> b.panicThresholdPercentage(100),
                        "panicThresholdPercentage must be between 110 and 1000, got 100.0"),
                Arguments.of((UnaryOperator<ScalingSettings.Builder>) b -> b.scaleToZeroGracePeriod(Duration.ofSeconds(-1)),
                        "scaleToZeroGracePeriod must not be negative, got -1 s"),
                Arguments.of((UnaryOperator<ScalingSettings.Builder>) b -> b.maxScaleUpRate(1), "maxScaleUpRate must be > 1, got 1.0"),
                Arguments.of((UnaryOperator<ScalingSettings.Builder>) b -> b.maxScaleDownRate(0.5), "maxScaleDownRate must be > 1, got 0.5"),
                Arguments.of((UnaryOperator<ScalingSettings.Builder>) b -> b.tickInterval(Duration.ZERO), "tickInterval must be positive, got 0 s"),
                Arguments.of((UnaryOperator<ScalingSettings.Builder>) b -> b.tickInterval(Duration.ofSeconds(61)),
                        "tickInterval (61 s) must not exceed the stableWindow (60 s)"),
                Arguments.of((UnaryOperator<ScalingSettings.Builder>) b -> b.targetBurstCapacity(-1), "targetBurstCapacity must be >= 0, got -1.0"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("badSettings")
    void badSettingsAreRefusedNamingTheValue(UnaryOperator<ScalingSettings.Builder> change, String message) {
        assertThatThrownBy(() -> change.apply(ScalingSettings.builder()).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
    }

    @Test
    void badCallsAreRefused() {
        Autoscaler a = scaler(b -> b);
        assertThatThrownBy(() -> a.decide(-1)).hasMessage("readyInstances must be >= 0, got -1");
        assertThatThrownBy(a::requestEnded).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> a.sample(-1)).hasMessage("in-flight sample must be >= 0, got -1");
    }

    @Test
    void requestsFromManyThreadsWhileDecidingLoseNoEvent() throws Exception {
        Autoscaler a = Autoscaler.create(ScalingSettings.defaults(), Ticker.system());
        int threads = 4;
        int perThread = 20_000;
        ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    go.await();
                    for (int i = 0; i < perThread; i++) {
                        a.requestStarted();
                        a.requestEnded();
                    }
                    return null;
                }));
            }
            Future<?> decider = pool.submit(() -> {
                go.await();
                for (int i = 0; i < 2_000; i++) {
                    a.decide(i % 8);
                    if (i == 1_000) {
                        a.update(a.settings().toBuilder().stableWindow(Duration.ofSeconds(90)).build());
                    }
                }
                return null;
            });
            go.countDown();
            for (Future<?> f : done) {
                f.get();
            }
            decider.get();
        } finally {
            pool.shutdownNow();
        }
        assertThat(a.inFlight()).isZero();
    }
}
