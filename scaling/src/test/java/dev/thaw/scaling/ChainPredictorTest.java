package dev.thaw.scaling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ChainPredictorTest {
    private final FakeTicker ticker = new FakeTicker();
    private final ChainPredictor predictor = ChainPredictor.create(ChainSettings.defaults(), ticker);

    /** A starts, B starts {@code delayMs} later (none when negative), then 10 s pass. */
    private void round(ChainPredictor p, String a, String b, long delayMs) {
        p.invoked(a);
        if (delayMs >= 0) {
            ticker.advanceMillis(delayMs);
            p.invoked(b);
        }
        ticker.advanceMillis(10_000 - Math.max(0, delayMs));
    }

    private List<String> targets(List<Prediction> predictions) {
        return predictions.stream().map(Prediction::to).toList();
    }

    private ChainOutcome outcome(ChainPredictor p, String from, String to) {
        return p.outcomes().stream().filter(o -> o.from().equals(from) && o.to().equals(to)).findFirst().orElseThrow();
    }

    @Test
    void defaults() {
        ChainSettings s = ChainSettings.defaults();
        assertThat(s.window()).isEqualTo(Duration.ofSeconds(2));
        assertThat(s.minSupport()).isEqualTo(3);
        assertThat(s.history()).isEqualTo(10);
        assertThat(s.forgetAfter()).isEqualTo(Duration.ofHours(1));
    }

    @Test
    void aChainIsLearnedAfterMinSupportRounds() {
        round(predictor, "A", "B", 300);
        assertThat(predictor.predict("A")).isEmpty();
        round(predictor, "A", "B", 300);
        assertThat(predictor.predict("A")).isEmpty();
        round(predictor, "A", "B", 300);
        assertThat(predictor.predict("A")).containsExactly(new Prediction("A", "B", Duration.ofMillis(300), false, 3, 3));
        assertThat(predictor.predict("B")).as("the chain goes one way").isEmpty();
    }

    /** B follows A in some of A's 10 rounds: a chain only from minSupport on. */
    @ParameterizedTest(name = "B in {0} of 10 rounds, support {1}: predicted {2}")
    @CsvSource({"1, 3, false", "2, 3, false", "3, 3, true", "2, 2, true", "4, 5, false", "9, 10, false", "10, 10, true"})
    void coincidencesBelowTheSupportAreNotLearned(int followed, int minSupport, boolean predicted) {
        ChainPredictor p = ChainPredictor.create(ChainSettings.defaults().withSupport(minSupport, 10), ticker);
        for (int i = 0; i < 10; i++) {
            round(p, "A", "B", i < followed ? 400 : -1);
        }
        assertThat(targets(p.predict("A")).contains("B")).isEqualTo(predicted);
    }

    @Test
    void onlyStartsWithinTheWindowFollow() {
        for (int i = 0; i < 5; i++) {
            round(predictor, "A", "late", 2_001);
        }
        assertThat(predictor.predict("A")).isEmpty();
        ChainPredictor edge = ChainPredictor.create(ChainSettings.defaults(), ticker);
        for (int i = 0; i < 3; i++) {
            round(edge, "A", "B", 2_000);
        }
        assertThat(targets(edge.predict("A"))).containsExactly("B");
    }

    @Test
    void aChainThatStopsIsForgottenAsItsRoundsLeaveTheHistory() {
        for (int i = 0; i < 10; i++) {
            round(predictor, "A", "B", 200);
        }
        for (int i = 1; i <= 7; i++) {
            round(predictor, "A", "B", -1);
            assertThat(targets(predictor.predict("A"))).as("after %d rounds without B", i).containsExactly("B");
        }
        round(predictor, "A", "B", -1); // B now in 2 of the last 10 rounds
        assertThat(predictor.predict("A")).isEmpty();
    }

    @Test
    void aChainNotSeenForForgetAfterStopsPredicting() {
        ChainPredictor p = ChainPredictor.create(ChainSettings.defaults().withForgetAfter(Duration.ofMinutes(10)), ticker);
        for (int i = 0; i < 3; i++) {
            round(p, "A", "B", 200);
        }
        ticker.advance(Duration.ofMinutes(10).minusSeconds(30)); // the oldest round is now 10 min old
        assertThat(targets(p.predict("A"))).containsExactly("B");
        ticker.advanceSeconds(1);
        assertThat(p.predict("A")).as("one round has aged out").isEmpty();
        ticker.advance(Duration.ofHours(5));
        assertThat(p.predict("A")).isEmpty();
    }

    @Test
    void aFunctionNeverFollowsItself() {
        for (int i = 0; i < 20; i++) {
            predictor.invoked("A");
            ticker.advanceMillis(500);
        }
        ticker.advanceSeconds(10);
        assertThat(predictor.predict("A")).isEmpty();
        assertThatThrownBy(() -> predictor.declare("A", List.of("B", "A")))
                .hasMessage("function 'A' cannot be declared to follow itself");
    }

    @Test
    void declaredChainsAlwaysPredictAndComeFirst() {
        predictor.declare("A", List.of("C", "B"));
        assertThat(predictor.predict("A")).containsExactly(
                new Prediction("A", "C", Duration.ZERO, true, 0, 0),
                new Prediction("A", "B", Duration.ZERO, true, 0, 0));
        assertThat(predictor.predict("A").getFirst().confidence()).isEqualTo(1.0);

        for (int i = 0; i < 3; i++) {
            round(predictor, "A", "D", 700);
        }
        assertThat(predictor.predict("A")).containsExactly(
                new Prediction("A", "C", Duration.ZERO, true, 0, 3),
                new Prediction("A", "B", Duration.ZERO, true, 0, 3),
                new Prediction("A", "D", Duration.ofMillis(700), false, 3, 3));

        predictor.declare("A", List.of("D"));
        assertThat(predictor.predict("A")).as("declared replaces; a declared chain with history has its delay")
                .containsExactly(new Prediction("A", "D", Duration.ofMillis(700), true, 3, 3));
        predictor.declare("A", List.of());
        assertThat(predictor.predict("A")).containsExactly(new Prediction("A", "D", Duration.ofMillis(700), false, 3, 3));
    }

    @Test
    void theExpectedDelayIsTheMedian() {
        for (long delay : new long[] {100, 900, 300, 500, 200}) {
            round(predictor, "A", "B", delay);
        }
        assertThat(predictor.predict("A").getFirst().expectedDelay()).isEqualTo(Duration.ofMillis(300));
    }

    @Test
    void learnedChainsAreOrderedBySupport() {
        for (int i = 0; i < 6; i++) {
            predictor.invoked("A");
            ticker.advanceMillis(100);
            if (i < 4) {
                predictor.invoked("rare");
            }
            predictor.invoked("often");
            ticker.advanceSeconds(10);
        }
        assertThat(targets(predictor.predict("A"))).containsExactly("often", "rare");
    }

    @Test
    void everyPredictionIsUsedOrWasted() {
        for (int i = 0; i < 3; i++) {
            round(predictor, "A", "B", 300);
        }
        List<Prediction> made = predictor.invoked("A");
        assertThat(made).isEqualTo(List.of(new Prediction("A", "B", Duration.ofMillis(300), false, 3, 3)));
        assertThat(predictor.pending("B")).isEqualTo(1);
        ticker.advanceMillis(500);
        predictor.invoked("B");
        assertThat(predictor.pending("B")).isZero();
        assertThat(outcome(predictor, "A", "B")).isEqualTo(new ChainOutcome("A", "B", 1, 1, 0, 0, 0));

        ticker.advanceSeconds(10);
        predictor.invoked("A");
        ticker.advanceSeconds(2);
        assertThat(outcome(predictor, "A", "B")).as("B may still come at the window's end")
                .isEqualTo(new ChainOutcome("A", "B", 2, 1, 0, 1, 0));
        ticker.advanceMillis(1);
        assertThat(outcome(predictor, "A", "B")).isEqualTo(new ChainOutcome("A", "B", 2, 1, 1, 0, 0));
        predictor.invoked("B");
        assertThat(outcome(predictor, "A", "B")).as("too late to count").isEqualTo(new ChainOutcome("A", "B", 2, 1, 1, 0, 0));
    }

    /** A burst of A beyond what any round has shown predicts no more B than a round has seen follow. */
    @Test
    void aBurstOfTheFirstFunctionIsOneRoundAndPredictsNoMoreThanARoundHasSeen() {
        for (int i = 0; i < 3; i++) {
            round(predictor, "A", "B", 300);
        }
        assertThat(IntStream.range(0, 5).map(i -> predictor.invoked("A").size()).sum())
                .as("rounds of one A and one B: one B predicted, not five").isEqualTo(1);
        ticker.advanceMillis(300);
        predictor.invoked("B");
        predictor.invoked("B");
        assertThat(predictor.pending("B")).isZero();
        ticker.advanceSeconds(10);
        assertThat(outcome(predictor, "A", "B")).isEqualTo(new ChainOutcome("A", "B", 1, 1, 0, 0, 0));
        Prediction p = predictor.predict("A").getFirst();
        assertThat(p.rounds()).isEqualTo(4);
        assertThat(p.support()).isEqualTo(4);
        // that round saw two B: the next burst of five A predicts two, as 5 B in 8 A over the history say by then
        assertThat(IntStream.range(0, 5).map(i -> predictor.invoked("A").size()).sum()).isEqualTo(2);
    }

    /** A called often, B once a round: B predicted about once a round, not at every A. */
    @Test
    void aFunctionThatAnotherFollowsOnceARoundPredictsItAsOftenAsItFollows() {
        for (int r = 0; r < 3; r++) {
            for (int i = 0; i < 50; i++) {
                predictor.invoked("A");
                ticker.advanceMillis(20);
            }
            predictor.invoked("B"); // 1 s into A's round
            ticker.advanceSeconds(10);
        }
        int made = 0;
        for (int i = 0; i < 50; i++) {
            made += predictor.invoked("A").size();
            ticker.advanceMillis(20);
        }
        assertThat(made).as("50 calls of A, as in the rounds B followed once").isEqualTo(1);
        assertThat(predictor.pending("B")).isEqualTo(1);
        for (int i = 0; i < 50; i++) {
            made += predictor.invoked("A").size();
        }
        assertThat(made).as("twice the calls a round: still once, no round has seen B twice").isEqualTo(1);
        ticker.advanceSeconds(10);
        assertThat(outcome(predictor, "A", "B")).isEqualTo(new ChainOutcome("A", "B", 1, 0, 1, 0, 0));
    }

    /** The ratio is learned per call: B following each of A's calls is predicted at each, as often as a round has seen. */
    @Test
    void aFunctionThatAnotherFollowsAtEveryCallPredictsItAtEveryCall() {
        for (int r = 0; r < 3; r++) {
            for (int i = 0; i < 4; i++) {
                predictor.invoked("A");
                ticker.advanceMillis(10);
                predictor.invoked("B");
                ticker.advanceMillis(10);
            }
            ticker.advanceSeconds(10);
        }
        IntStream.range(0, 4).forEach(i -> assertThat(predictor.invoked("A")).as("call %d", i).hasSize(1));
        assertThat(predictor.invoked("A")).as("a fifth: no round has seen five B").isEmpty();
        assertThat(predictor.pending("B")).isEqualTo(4);
    }

    /** Below the most a round has seen, the ratio over the history decides: 5 B in 63 A. */
    @Test
    void withinWhatARoundHasSeenTheHistorysRatioDecides() {
        for (int i = 0; i < 3; i++) {
            predictor.invoked("A");
            predictor.invoked("B");
        }
        ticker.advanceSeconds(10);
        for (int r = 0; r < 2; r++) {
            for (int i = 0; i < 30; i++) {
                predictor.invoked("A");
            }
            predictor.invoked("B");
            ticker.advanceSeconds(10);
        }
        assertThat(IntStream.range(0, 12).map(i -> predictor.invoked("A").size()).sum()).as("12 of A: 0.95 B due").isEqualTo(1);
        assertThat(IntStream.range(0, 13).map(i -> predictor.invoked("A").size()).sum()).as("25 of A: 1.98 B due").isEqualTo(1);
        assertThat(predictor.pending("B")).isEqualTo(2);
    }

    @Test
    void aDeclaredChainNotSeenYetPredictsAtEveryCall() {
        predictor.declare("A", List.of("B"));
        IntStream.range(0, 5).forEach(i -> assertThat(predictor.invoked("A")).as("call %d", i).hasSize(1));
        assertThat(predictor.pending("B")).isEqualTo(5);
    }

    /** A second A during A's open round joins it: B is measured from the round's start. */
    @Test
    void invocationsDuringAnOpenRoundJoinIt() {
        for (int i = 0; i < 3; i++) {
            predictor.invoked("A");
            ticker.advanceMillis(1_900);
            predictor.invoked("A");
            ticker.advanceMillis(100);
            predictor.invoked("B");
            ticker.advanceSeconds(10);
        }
        assertThat(predictor.predict("A")).containsExactly(new Prediction("A", "B", Duration.ofSeconds(2), false, 3, 3));
    }

    @Test
    void invokedPredictsWhatPredictSaidJustBefore() {
        for (int i = 0; i < 3; i++) {
            round(predictor, "A", "B", 300);
        }
        List<Prediction> before = predictor.predict("A");
        assertThat(predictor.invoked("A")).isEqualTo(before);
    }

    @Test
    void forgettingAFunctionDropsItsChainsBothWays() {
        predictor.declare("X", List.of("B"));
        for (int i = 0; i < 3; i++) {
            round(predictor, "A", "B", 300);
        }
        predictor.invoked("A");
        predictor.invoked("X");
        assertThat(predictor.pending("B")).isEqualTo(2);
        predictor.forget("B");
        assertThat(predictor.predict("A")).isEmpty();
        assertThat(predictor.predict("X")).isEmpty();
        assertThat(predictor.pending("B")).isZero();
        assertThat(predictor.outcomes()).isEmpty();
        ticker.advanceSeconds(10);
        assertThat(predictor.outcomes()).isEmpty();
    }

    @Test
    void predictionsBeyondTheTrackedBoundAreCountedAsUntracked() {
        predictor.declare("A", List.of("B"));
        for (int i = 0; i < ChainPredictor.MAX_PENDING + 5; i++) {
            predictor.invoked("A");
        }
        assertThat(outcome(predictor, "A", "B"))
                .isEqualTo(new ChainOutcome("A", "B", ChainPredictor.MAX_PENDING + 5, 0, 0, ChainPredictor.MAX_PENDING, 5));
        ticker.advanceSeconds(3);
        assertThat(outcome(predictor, "A", "B"))
                .isEqualTo(new ChainOutcome("A", "B", ChainPredictor.MAX_PENDING + 5, 0, ChainPredictor.MAX_PENDING, 0, 5));
        assertThat(predictor.invoked("A")).hasSize(1);
        assertThat(predictor.pending("B")).isEqualTo(1);
    }

    @Test
    void outcomesAreSortedByChain() {
        predictor.declare("b", Set.of("c"));
        predictor.declare("a", List.of("z", "c"));
        predictor.invoked("b");
        predictor.invoked("a");
        assertThat(predictor.outcomes()).extracting(o -> o.from() + ">" + o.to()).containsExactly("a>c", "a>z", "b>c");
    }

    @Test
    void badSettingsAreNamed() {
        assertThatThrownBy(() -> new ChainSettings(Duration.ZERO, 3, 10, Duration.ofHours(1)))
                .hasMessage("window must be positive, got 0 s");
        assertThatThrownBy(() -> ChainSettings.defaults().withWindow(Duration.ofMinutes(11)))
                .hasMessage("window must be at most 600 s, got 660 s");
        assertThatThrownBy(() -> ChainSettings.defaults().withSupport(11, 10))
                .hasMessage("minSupport must be between 1 and history (10), got 11");
        assertThatThrownBy(() -> ChainSettings.defaults().withSupport(0, 10))
                .hasMessage("minSupport must be between 1 and history (10), got 0");
        assertThatThrownBy(() -> ChainSettings.defaults().withSupport(3, 1001))
                .hasMessage("history must be between 1 and 1000 rounds, got 1001");
        assertThatThrownBy(() -> ChainSettings.defaults().withForgetAfter(Duration.ofSeconds(1)))
                .hasMessage("forgetAfter (1 s) must be at least the window (2 s)");
        assertThatThrownBy(() -> predictor.invoked("")).hasMessage("function name must not be blank, got ''");
    }
}
