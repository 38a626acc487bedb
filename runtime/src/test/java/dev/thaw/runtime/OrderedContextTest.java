package dev.thaw.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.thaw.runtime.crac.CheckpointException;
import dev.thaw.runtime.crac.Context;
import dev.thaw.runtime.crac.Core;
import dev.thaw.runtime.crac.OrderedContext;
import dev.thaw.runtime.crac.Resource;
import dev.thaw.runtime.crac.RestoreException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Hook order, failure collection and the afterRestore budget of thaw's org.crac implementation. */
class OrderedContextTest {
    private final List<String> events = new ArrayList<>();

    private Resource named(String name, boolean failBefore, long sleepAfterMs) {
        return new Resource() {
            @Override
            public void beforeCheckpoint(Context<? extends Resource> c) {
                events.add("before:" + name);
                if (failBefore) {
                    throw new IllegalStateException(name + " refuses");
                }
            }

            @Override
            public void afterRestore(Context<? extends Resource> c) throws Exception {
                Thread.sleep(sleepAfterMs);
                events.add("after:" + name);
            }
        };
    }

    private static OrderedContext fresh() throws Exception {
        var c = OrderedContext.class.getDeclaredConstructor();
        c.setAccessible(true);
        return c.newInstance();
    }

    @Test
    void beforeInReverseAfterInRegistrationOrder() throws Exception {
        OrderedContext ctx = fresh();
        ctx.register(named("A", false, 0));
        ctx.register(named("B", false, 0));
        ctx.register(named("C", false, 0));
        ctx.beforeCheckpoint(null);
        ctx.afterRestoreWithin(Duration.ofSeconds(5));
        assertThat(events).containsExactly("before:C", "before:B", "before:A", "after:A", "after:B", "after:C");
    }

    @Test
    void everyHookRunsEvenWhenOneFailsAndTheFailureIsReported() throws Exception {
        OrderedContext ctx = fresh();
        ctx.register(named("A", false, 0));
        ctx.register(named("B", true, 0));
        assertThatThrownBy(() -> ctx.beforeCheckpoint(null)).isInstanceOf(CheckpointException.class)
                .satisfies(e -> assertThat(e.getSuppressed()[0]).hasMessage("B refuses"));
        assertThat(events).containsExactly("before:B", "before:A");
    }

    @Test
    void afterRestoreHasATimeBudget() throws Exception {
        OrderedContext ctx = fresh();
        ctx.register(named("slow", false, 5_000));
        assertThatThrownBy(() -> ctx.afterRestoreWithin(Duration.ofMillis(100))).isInstanceOf(RestoreException.class)
                .satisfies(e -> assertThat(e.getSuppressed()[0]).hasMessageContaining("did not finish within 100 ms"));
    }

    @Test
    void applicationsCannotRequestACheckpoint() {
        assertThatThrownBy(Core::checkpointRestore).isInstanceOf(CheckpointException.class)
                .satisfies(e -> assertThat(e.getSuppressed()[0]).hasMessageContaining("thaw takes the snapshot itself"));
    }

    @Test
    void theOrgCracFacadeFindsThawThroughTheCompatProperty() throws Exception {
        // org.crac reads the property in its static initializer: run it in a fresh class loader.
        System.setProperty("org.crac.Core.Compat", "dev.thaw.runtime.crac");
        int before = Core.globalContext().size();
        org.crac.Core.getGlobalContext().register(new org.crac.Resource() {
            @Override
            public void beforeCheckpoint(org.crac.Context<? extends org.crac.Resource> c) {
            }

            @Override
            public void afterRestore(org.crac.Context<? extends org.crac.Resource> c) {
            }
        });
        assertThat(Core.globalContext().size()).isEqualTo(before + 1);
    }
}
