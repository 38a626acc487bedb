package dev.thaw.node.instance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.core.RestoreMode;
import org.junit.jupiter.api.Test;

class WarmSnapshotTest {

    @Test
    void aJavaFunctionRestoredEagerlyOrLazilyMayGetAWarmedSnapshot() {
        assertThat(WarmSnapshot.refusal("java", 5_000, RestoreMode.EAGER)).isEmpty();
        assertThat(WarmSnapshot.refusal("java", 1, RestoreMode.LAZY)).isEmpty();
    }

    @Test
    void itIsRefusedWhenOffForACustomRuntimeAndForReapRestoresSayingWhy() {
        assertThat(WarmSnapshot.refusal("java", 0, RestoreMode.EAGER)).hasValueSatisfying(
                why -> assertThat(why).contains("--warm-snapshot-after 0"));
        assertThat(WarmSnapshot.refusal("provided", 5_000, RestoreMode.EAGER)).hasValueSatisfying(
                why -> assertThat(why).contains("runtime is not thaw's own"));
        assertThat(WarmSnapshot.refusal("java", 5_000, RestoreMode.REAP)).hasValueSatisfying(
                why -> assertThat(why).contains("REAP"));
    }
}
