package dev.thaw.scaling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PrewarmPolicyTest {
    private final PrewarmPolicy policy = PrewarmPolicy.defaults();

    private static List<Duration> seconds(long... waits) {
        return java.util.Arrays.stream(waits).mapToObj(Duration::ofSeconds).toList();
    }

    @Test
    void defaults() {
        assertThat(policy.maxCloneWait()).isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    void theConfiguredLevelIsKeptEvenAtZero() {
        PrewarmPlan plan = policy.plan(new PrewarmInputs(2, 0, 0, 0, 0, 8, List.of()));
        assertThat(plan).isEqualTo(new PrewarmPlan(2, List.of(), List.of(), 2, "prewarm 2: keep 2; start 2"));
    }

    /** target = max(prewarm, predicted beyond idle instances), within the room under maxInstances. */
    @ParameterizedTest(name = "prewarm {0}, predicted {1}, idle {2}, {3} of max {4} wanted: target {5}")
    @CsvSource({
            "0, 0, 0, 0, 8, 0",
            "0, 3, 1, 1, 8, 2",
            "3, 3, 1, 1, 8, 3",
            "1, 5, 0, 0, 8, 5",
            "2, 0, 0, 3, 4, 1",
            "0, 9, 0, 2, 8, 6",
            "4, 0, 0, 8, 8, 0"})
    void theTarget(int prewarm, int predicted, int idle, int desired, int max, int target) {
        PrewarmPlan plan = policy.plan(new PrewarmInputs(prewarm, desired, desired, idle, predicted, max, List.of()));
        assertThat(plan.target()).isEqualTo(target);
        assertThat(plan.start()).isEqualTo(target);
    }

    @Test
    void theReasonShowsTheFigures() {
        PrewarmPlan plan = policy.plan(new PrewarmInputs(1, 3, 3, 1, 4, 5, List.of()));
        assertThat(plan.reason()).isEqualTo("prewarm 1, 4 predicted of which 3 beyond idle instances, room for 2 under maxInstances 5: keep 2; start 2");
    }

    @Test
    void clonesThatWaitedTooLongAreRetiredOldestFirstAndReplaced() {
        PrewarmPlan plan = policy.plan(new PrewarmInputs(3, 0, 0, 0, 0, 8, seconds(60, 360, 600, 120)));
        assertThat(plan.retire()).containsExactly(2, 1);
        assertThat(plan.start()).isEqualTo(1);
        assertThat(plan.target()).isEqualTo(3);
        assertThat(plan.reason()).isEqualTo("prewarm 3: keep 3; retire 2 that waited over 300 s; start 1");
        assertThat(policy.plan(new PrewarmInputs(3, 0, 0, 0, 0, 8, seconds(300))).retire()).as("at the bound, not over").isEmpty();
    }

    @Test
    void clonesBeyondTheTargetAreRetiredOldestFirst() {
        PrewarmPlan plan = policy.plan(new PrewarmInputs(1, 0, 0, 0, 0, 8, seconds(10, 40, 20)));
        assertThat(plan.retire()).containsExactly(1, 2);
        assertThat(plan.start()).isZero();
        assertThat(plan.reason()).isEqualTo("prewarm 1: keep 1; retire 2 beyond the target");
    }

    @Test
    void whenTheAutoscalerWantsMoreTheFreshestClonesBecomeInstances() {
        PrewarmPlan plan = policy.plan(new PrewarmInputs(1, 5, 3, 0, 0, 8, seconds(30, 10, 50)));
        assertThat(plan.promote()).containsExactly(1, 0);
        assertThat(plan.retire()).isEmpty();
        assertThat(plan.target()).isEqualTo(1);
        assertThat(plan.start()).isZero();
        assertThat(plan.reason()).isEqualTo("prewarm 1: keep 1; promote 2 (autoscaler wants 2 more)");

        PrewarmPlan all = policy.plan(new PrewarmInputs(1, 10, 3, 0, 0, 10, seconds(30, 10, 50)));
        assertThat(all.promote()).containsExactly(1, 0, 2);
        assertThat(all.target()).as("no room left under the maximum").isZero();
        assertThat(all.start()).isZero();
    }

    @Test
    void thePlanIsAPureFunctionOfItsInputs() {
        PrewarmInputs in = new PrewarmInputs(2, 4, 3, 1, 5, 8, seconds(400, 20, 90, 5));
        assertThat(policy.plan(in)).isEqualTo(policy.plan(in));
        assertThat(PrewarmPolicy.create(Duration.ofMinutes(5)).plan(in)).isEqualTo(policy.plan(in));
        assertThat(in.cloneWaits()).isEqualTo(seconds(400, 20, 90, 5));
    }

    @Test
    void badInputsAreNamed() {
        assertThatThrownBy(() -> new PrewarmInputs(-1, 0, 0, 0, 0, 1, List.of())).hasMessage("prewarm must be >= 0, got -1");
        assertThatThrownBy(() -> new PrewarmInputs(0, 0, 1, 2, 0, 1, List.of()))
                .hasMessage("idleInstances must be between 0 and instances (1), got 2");
        assertThatThrownBy(() -> new PrewarmInputs(0, 0, 0, 0, 0, 0, List.of())).hasMessage("maxInstances must be >= 1, got 0");
        assertThatThrownBy(() -> new PrewarmInputs(0, 0, 0, 0, 0, 1, seconds(-3))).hasMessage("clone wait must not be negative, got -3 s");
        assertThatThrownBy(() -> PrewarmPolicy.create(Duration.ZERO)).hasMessage("maxCloneWait must be positive, got 0 s");
    }
}
