package dev.thaw.node.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ForegroundWorkTest {
    private static final Duration SPELL = Duration.ofMillis(250);
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final AtomicBoolean othersBusy = new AtomicBoolean();
    private final ForegroundWork work = new ForegroundWork(now::get, othersBusy::get);

    private void advance(long millis) {
        now.addAndGet(Duration.ofMillis(millis).toNanos());
    }

    @Test
    void aNodeThatJustStartedIsQuietOnlyAfterASpell() {
        assertThat(work.quietFor(SPELL)).isFalse();
        advance(249);
        assertThat(work.quietFor(SPELL)).isFalse();
        advance(1);
        assertThat(work.quietFor(SPELL)).isTrue();
    }

    @Test
    void anInvocationInFlightKeepsTheNodeBusyAndItsEndStartsTheSpell() {
        advance(1_000);
        work.began();
        advance(5_000);
        assertThat(work.invocationsInFlight()).isTrue();
        assertThat(work.quietFor(SPELL)).isFalse();
        work.ended();
        assertThat(work.invocationsInFlight()).isFalse();
        advance(200);
        assertThat(work.quietFor(SPELL)).isFalse();
        advance(50);
        assertThat(work.quietFor(SPELL)).isTrue();
    }

    @Test
    void anInvocationThatBeganAndEndedBetweenTwoLooksIsSeen() {
        advance(1_000);
        assertThat(work.quietFor(SPELL)).isTrue();
        advance(100);
        work.began();
        advance(1);
        work.ended();
        advance(200);
        assertThat(work.quietFor(SPELL)).isFalse();
    }

    @Test
    void callsBackToBackNeverLeaveASpell() {
        advance(1_000);
        for (int i = 0; i < 10_000; i++) {
            work.began();
            advance(1);
            work.ended();
            assertThat(work.quietFor(SPELL)).isFalse();
        }
    }

    @Test
    void whatElseTheNodeSaysKeepsItBusyToo() {
        advance(1_000);
        othersBusy.set(true);
        assertThat(work.quietFor(SPELL)).isFalse();
        othersBusy.set(false);
        advance(249);
        assertThat(work.quietFor(SPELL)).isFalse();
        advance(1);
        assertThat(work.quietFor(SPELL)).isTrue();
    }

    @Test
    void aWaitEndsAtItsBoundOnANodeNeverQuiet() {
        othersBusy.set(true);
        ForegroundWork real = new ForegroundWork(System::nanoTime, othersBusy::get);
        Duration waited = real.awaitQuiet(SPELL, Duration.ofMillis(100), () -> false);
        assertThat(waited).isGreaterThanOrEqualTo(Duration.ofMillis(100));
    }

    @Test
    void aWaitEndsWhenToldToStop() {
        othersBusy.set(true);
        ForegroundWork real = new ForegroundWork(System::nanoTime, othersBusy::get);
        Duration waited = real.awaitQuiet(SPELL, Duration.ofMinutes(10), () -> true);
        assertThat(waited).isLessThan(Duration.ofMinutes(10));
    }

    /**
     * A deploy's boot kept the node busy, but nobody looked while it did: the last busy moment the
     * node knows of is long past when the snapshot's publish begins to wait, just as the first
     * invocations are about to come. The wait still needs a whole spell of its own.
     */
    @Test
    void aWaitNeedsAQuietSpellAfterItBegan() {
        AtomicLong clock = new AtomicLong(1_000_000_000L);
        ForegroundWork w = new ForegroundWork(() -> clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(5)), othersBusy::get);
        clock.addAndGet(TimeUnit.SECONDS.toNanos(10)); // the boot: busy, unseen
        Duration waited = w.awaitQuiet(SPELL, Duration.ofMinutes(10), () -> false);
        assertThat(waited).isGreaterThanOrEqualTo(SPELL).isLessThan(SPELL.plusMillis(100));
        assertThat(w.quietFor(SPELL)).as("a look of the store's, unlike a wait, counts from the last busy moment seen").isTrue();
    }

    @Test
    void aWaitOnAQuietNodeEndsOnceTheSpellHasPassed() {
        ForegroundWork real = new ForegroundWork(System::nanoTime, othersBusy::get);
        Duration waited = real.awaitQuiet(Duration.ofMillis(50), Duration.ofMinutes(10), () -> false);
        assertThat(waited).isGreaterThanOrEqualTo(Duration.ofMillis(50)).isLessThan(Duration.ofMinutes(10));
    }
}
