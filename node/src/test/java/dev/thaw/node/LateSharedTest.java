package dev.thaw.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.node.instance.SharedSnapshots;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class LateSharedTest {

    /**
     * A method the node's late-bound delegate does not override answers with the interface's
     * default, "no cluster", on a cluster's node too: its first snapshot's publish then never heard
     * that another node waited for it.
     */
    @Test
    void theLateBoundDelegateOverridesEveryMethodOfTheInterface() {
        for (Method m : SharedSnapshots.class.getMethods()) {
            if (Modifier.isStatic(m.getModifiers())) {
                continue;
            }
            assertThat(Arrays.stream(ThawNode.LateShared.class.getDeclaredMethods())
                    .anyMatch(d -> d.getName().equals(m.getName()) && Arrays.equals(d.getParameterTypes(), m.getParameterTypes())))
                    .as("ThawNode.LateShared overrides %s", m).isTrue();
        }
    }
}
