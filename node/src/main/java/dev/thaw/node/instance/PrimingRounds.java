package dev.thaw.node.instance;

import dev.thaw.core.FunctionManifest;
import dev.thaw.core.Json;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import dev.thaw.node.pool.Scheduler;
import java.util.function.BiConsumer;

/**
 * The priming invocations of a function's instances ({@link FunctionManifest.Priming}): the node's
 * side of {@code thaw-prime/next} and its replies.
 *
 * <p>Each round is handed out with the function's priming event and a deadline of the function's
 * timeout; a round that has not answered by then is reported to the pool, which stops the instance
 * (a handler that hangs on its priming event would otherwise hold the function's first cold start
 * until the init watchdog). An instance gets at most the configured number of rounds, and only
 * while it has not become ready: after its checkpoint the routes answer nothing.
 */
final class PrimingRounds {

    /** One priming invocation as handed to the runtime. */
    record Round(String requestId, long deadlineEpochMs, byte[] event) {
    }

    private final int rounds;
    private final byte[] event;
    private final int timeoutMs;
    private final Scheduler timers;
    private final BiConsumer<Instance, String> onOverrun;
    private final Map<Instance, Progress> progress = new ConcurrentHashMap<>();

    /** What one instance's priming has done so far. */
    private static final class Progress {
        final long startNanos = System.nanoTime();
        int started;
        long endNanos;
        String open;
        Scheduler.Cancellable timer;
    }

    /**
     * @param priming the function's priming (validated: rounds set)
     * @param timeoutMs the function's invocation timeout, the limit of one round
     * @param timers runs the deadline checks
     * @param onOverrun told (instance, why) when a round passes its deadline
     */
    PrimingRounds(FunctionManifest.Priming priming, int timeoutMs, Scheduler timers,
                  BiConsumer<Instance, String> onOverrun) {
        this.rounds = priming.rounds();
        this.event = Json.write(priming.event());
        this.timeoutMs = timeoutMs;
        this.timers = timers;
        this.onOverrun = onOverrun;
    }

    /** @return the instance's next round, or empty once it had all of them or one is still open */
    synchronized Optional<Round> start(Instance instance) {
        Progress p = progress.computeIfAbsent(instance, i -> new Progress());
        if (p.started >= rounds || p.open != null) {
            return Optional.empty();
        }
        p.started++;
        p.open = "prime-" + p.started + "-" + UUID.randomUUID();
        int round = p.started;
        p.timer = timers.schedule(() -> overrun(instance, round), java.time.Duration.ofMillis(timeoutMs));
        return Optional.of(new Round(p.open, System.currentTimeMillis() + timeoutMs, event));
    }

    /** @return whether the request id was the instance's open round (now closed) */
    synchronized boolean end(Instance instance, String requestId) {
        Progress p = progress.get(instance);
        if (p == null || p.open == null || !p.open.equals(requestId)) {
            return false;
        }
        p.timer.cancel();
        p.open = null;
        p.endNanos = System.nanoTime();
        return true;
    }

    /** @return e.g. {@code ", after 10 priming invocations (412 ms)"}, or "" when the instance ran none */
    synchronized String summary(Instance instance) {
        Progress p = progress.get(instance);
        if (p == null || p.started == 0) {
            return "";
        }
        return String.format(Locale.ROOT, ", after %d priming invocation%s (%d ms)", p.started, p.started == 1 ? "" : "s",
                (p.endNanos - p.startNanos) / 1_000_000);
    }

    /** Drops what is kept of an instance that has exited. */
    synchronized void forget(Instance instance) {
        Progress p = progress.remove(instance);
        if (p != null && p.timer != null) {
            p.timer.cancel();
        }
    }

    private void overrun(Instance instance, int round) {
        synchronized (this) {
            Progress p = progress.get(instance);
            if (p == null || p.open == null || p.started != round) {
                return;
            }
        }
        onOverrun.accept(instance, "priming invocation " + round + " of " + rounds
                + " did not finish within the function's timeout of " + timeoutMs + " ms");
    }
}
