package dev.thaw.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ScalingDefaultsTest {
    private static final FunctionManifest BARE = new FunctionManifest("f", "a.B", null, null, null, Map.of(), null, true);

    @Test
    void aManifestThatSaysNothingGetsTheNodesDefaults() {
        FunctionManifest filled = new ScalingDefaults(3, 1, 2.5).fill(BARE).validated();
        assertThat(filled.maxInstances()).isEqualTo(3);
        assertThat(filled.scalingOrDefault().minInstances()).isEqualTo(1);
        assertThat(filled.scalingOrDefault().targetConcurrency()).isEqualTo(2.5);
    }

    @Test
    void whatTheManifestSaysWins() {
        FunctionManifest own = new FunctionManifest("f", "a.B", null, null, null, Map.of(), 5, true)
                .withScaling(new FunctionManifest.Scaling(0, 4.0, 2, List.of("g"), "prefetch"));
        FunctionManifest filled = new ScalingDefaults(3, 1, 2.5).fill(own).validated();
        assertThat(filled.maxInstances()).isEqualTo(5);
        assertThat(filled.scalingOrDefault()).isEqualTo(new FunctionManifest.Scaling(0, 4.0, 2, List.of("g"), "prefetch"));
    }

    @Test
    void whatTheFunctionMayInvokeSurvivesTheDefaults() {
        FunctionManifest caller = BARE.withMayInvoke(List.of("g"));
        assertThat(new ScalingDefaults(3, 1, 2.5).fill(caller).validated().mayInvoke()).containsExactly("g");
    }

    @Test
    void aManifestsLowerMaximumBoundsTheDefaultMinimumInsteadOfRefusingIt() {
        FunctionManifest one = new FunctionManifest("f", "a.B", null, null, null, Map.of(), 1, true);
        assertThat(new ScalingDefaults(8, 2, 1).fill(one).validated().scalingOrDefault().minInstances()).isEqualTo(1);
    }

    @Test
    void thawsOwnDefaultsChangeNothing() {
        assertThat(ScalingDefaults.THAW.fill(BARE).validated()).isEqualTo(BARE.validated());
    }

    @Test
    void defaultsOutOfBoundsAreRefusedNamingTheValue() {
        assertThatThrownBy(() -> new ScalingDefaults(0, 0, 1)).hasMessageContaining("got 0");
        assertThatThrownBy(() -> new ScalingDefaults(4, 5, 1)).hasMessageContaining("0-4").hasMessageContaining("got 5");
        assertThatThrownBy(() -> new ScalingDefaults(4, 0, 0)).hasMessageContaining("target concurrency");
    }
}
