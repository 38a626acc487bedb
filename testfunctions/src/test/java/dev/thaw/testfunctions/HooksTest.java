package dev.thaw.testfunctions;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.crac.Resource;
import org.junit.jupiter.api.Test;

class HooksTest {

    @Test
    void recordsHooksInTheOrderTheyAreCalled() throws Exception {
        Hooks.EVENTS.clear();
        Hooks hooks = new Hooks();
        List<Resource> abc = hooks.resources();

        // What a CRaC implementation does: before in reverse registration order, after in registration order.
        for (Resource r : abc.reversed()) {
            r.beforeCheckpoint(null);
        }
        for (Resource r : abc) {
            r.afterRestore(null);
        }
        List<String> seen = hooks.handle(null, null);
        Hooks.EVENTS.add("later");

        assertThat(seen).containsExactly("init", "before:C", "before:B", "before:A", "after:A", "after:B", "after:C");
        assertThat(hooks.handle(null, null)).endsWith("later");
    }
}
