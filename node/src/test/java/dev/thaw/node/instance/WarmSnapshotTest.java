package dev.thaw.node.instance;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class WarmSnapshotTest {

    @Test
    void aJavaFunctionMayGetAWarmedSnapshotWhateverItsRestoreMode() {
        assertThat(WarmSnapshot.refusal("java", null, 5_000)).isEmpty();
        assertThat(WarmSnapshot.refusal("java", 1, 1)).isEmpty();
    }

    @Test
    void itIsRefusedWhenOffAndForACustomRuntimeSayingWhy() {
        assertThat(WarmSnapshot.refusal("java", null, 0)).hasValueSatisfying(
                why -> assertThat(why).contains("off on this node"));
        assertThat(WarmSnapshot.refusal("java", 0, 0)).hasValueSatisfying(
                why -> assertThat(why).contains("off for this function"));
        assertThat(WarmSnapshot.refusal("provided", null, 5_000)).hasValueSatisfying(
                why -> assertThat(why).contains("runtime is not thaw's own"));
    }

    @Test
    void aFunctionsOwnSettingAppliesUnlessTheNodeTurnedWarmingOff() {
        assertThat(WarmSnapshot.after(5_000, null)).isEqualTo(5_000);
        assertThat(WarmSnapshot.after(5_000, 200)).isEqualTo(200);
        assertThat(WarmSnapshot.after(5_000, 0)).isZero();
        assertThat(WarmSnapshot.after(0, 200)).as("the node's operator turned it off").isZero();
    }
}
