package dev.thaw.node.instance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.core.RestoreMode;
import org.junit.jupiter.api.Test;

class WarmSnapshotTest {

    @Test
    void aJavaFunctionRestoredEagerlyOrLazilyMayGetAWarmedSnapshot() {
        assertThat(WarmSnapshot.refusal("java", null, 5_000, RestoreMode.EAGER)).isEmpty();
        assertThat(WarmSnapshot.refusal("java", 1, 1, RestoreMode.LAZY)).isEmpty();
    }

    @Test
    void itIsRefusedWhenOffForACustomRuntimeAndForReapRestoresSayingWhy() {
        assertThat(WarmSnapshot.refusal("java", null, 0, RestoreMode.EAGER)).hasValueSatisfying(
                why -> assertThat(why).contains("off on this node"));
        assertThat(WarmSnapshot.refusal("java", 0, 0, RestoreMode.EAGER)).hasValueSatisfying(
                why -> assertThat(why).contains("off for this function"));
        assertThat(WarmSnapshot.refusal("provided", null, 5_000, RestoreMode.EAGER)).hasValueSatisfying(
                why -> assertThat(why).contains("runtime is not thaw's own"));
        assertThat(WarmSnapshot.refusal("java", null, 5_000, RestoreMode.REAP)).hasValueSatisfying(
                why -> assertThat(why).contains("REAP"));
    }

    @Test
    void aFunctionsOwnSettingAppliesUnlessTheNodeTurnedWarmingOff() {
        assertThat(WarmSnapshot.after(5_000, null)).isEqualTo(5_000);
        assertThat(WarmSnapshot.after(5_000, 200)).isEqualTo(200);
        assertThat(WarmSnapshot.after(5_000, 0)).isZero();
        assertThat(WarmSnapshot.after(0, 200)).as("the node's operator turned it off").isZero();
    }
}
