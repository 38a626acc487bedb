package dev.thaw.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class InvocationActivityTest {
    private final AtomicLong now = new AtomicLong(5_000_000_000L);
    private final InvocationActivity activity = new InvocationActivity(now::get, Duration.ofSeconds(1));

    private void advance(Duration d) {
        now.addAndGet(d.toNanos());
    }

    @Test
    void aNodeThatServedNothingIsQuiet() {
        assertThat(activity.quiet()).isTrue();
    }

    @Test
    void aNodeIsQuietOnlyOnceTheQuietTimeHasPassedSinceItsLastInvocation() {
        activity.touch();
        assertThat(activity.quiet()).isFalse();
        advance(Duration.ofMillis(999));
        assertThat(activity.quiet()).as("between two calls of a busy node").isFalse();
        activity.touch();
        advance(Duration.ofMillis(1000));
        assertThat(activity.quiet()).as("exactly the quiet time after the last").isFalse();
        advance(Duration.ofMillis(1));
        assertThat(activity.quiet()).isTrue();
    }
}
