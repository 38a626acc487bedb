package dev.thaw.node.instance;

import dev.thaw.node.pool.Scheduler;
import dev.thaw.sandbox.InstanceSandbox;
import java.io.IOException;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/*
 * A function version's spare sandbox, made ahead so that a restore takes it instead of making one on
 * its critical path: the cgroups and their limits, the network namespace, the scratch mount, the
 * Runtime API's listener inside the namespace, and the restore launcher, parked in all of them with
 * its mount namespace made (ParkedLaunch): the restore hands it CRIU's command line instead of
 * spawning it. What depends on the snapshot (the scratch's seed) is still done by the restore.
 *
 * One spare per version: a burst's further restores make their sandboxes as before. A taken spare is
 * replaced a moment later (REFILL_DELAY), so that making it does not compete for the CPU with the
 * restore that took the last one; one is made after the version's first instance is up. The pool's
 * close closes the spare; a node that stops closes every sandbox it made, spares included.
 */
/**
 * A version's one spare sandbox (see the comment above); generic over what is kept, so that its
 * timing and closing are tested with fakes.
 *
 * @param <T> what is kept ready ({@link Prepared} in the node)
 */
final class SpareSandbox<T> implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("thaw.node");
    static final Duration REFILL_DELAY = Duration.ofMillis(250);

    /**
     * A sandbox made for an instance (ahead, or at its start), with its id, the Runtime API's
     * listener inside, and for a spare its restore launcher, parked ({@code null} otherwise).
     */
    record Prepared(String id, InstanceSandbox box, ServerSocketChannel listener, ParkedLaunch parked) {
        void close() {
            if (parked != null) {
                parked.close();
            }
            try {
                listener.close();
            } catch (IOException e) {
                // closing
            }
            box.close();
        }
    }

    private final Supplier<T> maker;
    private final java.util.function.Consumer<T> discard;
    private final Scheduler scheduler;
    private final AtomicReference<T> ready = new AtomicReference<>();
    private final AtomicBoolean making = new AtomicBoolean();
    private volatile boolean closed;

    /**
     * @param maker makes a spare (throws when it cannot)
     * @param discard closes a spare no one will take
     * @param scheduler delays the refills (and runs them: the refill itself runs on a virtual thread)
     */
    SpareSandbox(Supplier<T> maker, java.util.function.Consumer<T> discard, Scheduler scheduler) {
        this.maker = maker;
        this.discard = discard;
        this.scheduler = scheduler;
    }

    /** @return the spare, if one is ready; the caller owns it from now on */
    Optional<T> take() {
        return Optional.ofNullable(ready.getAndSet(null));
    }

    /** Makes a spare after {@link #REFILL_DELAY}, unless one is ready or being made. */
    void refillSoon() {
        if (closed || ready.get() != null || !making.compareAndSet(false, true)) {
            return;
        }
        scheduler.schedule(() -> Thread.ofVirtual().name("thaw-spare-sandbox").start(this::make), REFILL_DELAY);
    }

    /** Makes a spare now, on the calling thread (what a refill runs). */
    void make() {
        try {
            if (closed) {
                return;
            }
            T s = maker.get();
            if (!ready.compareAndSet(null, s)) {
                discard.accept(s);
            } else if (closed) {
                take().ifPresent(discard); // closed while it was being made
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.INFO, "a spare sandbox could not be made (the next restore makes its own): "
                    + e.getMessage());
        } finally {
            making.set(false);
        }
    }

    @Override
    public void close() {
        closed = true;
        take().ifPresent(discard);
    }
}
