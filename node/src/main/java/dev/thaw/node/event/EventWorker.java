package dev.thaw.node.event;

import dev.thaw.node.pool.Scheduler;
import dev.thaw.node.pool.Ticker;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/*
 * Runs the asynchronous invocations of an EventQueue, at least once each, with Lambda's retry
 * policy.
 *
 * An event is dispatched when it is due (at once when it is new). Its outcome decides what happens
 * next:
 *   success                          it leaves the queue
 *   failure (function error,         it counts as an attempt; after the first and second it is retried
 *     timeout, crash, init error)    1 and 2 minutes later (Policy: retryDelay, doubling), after the
 *                                    third it becomes a dead letter of its function
 *   refused (the pool is full)       it is tried again after Policy.refusedDelay, and the refusal does
 *                                    not count: an event is never dropped because the node was busy
 *   gone (function or qualifier      it becomes a dead letter at once
 *     no longer exists)
 *   abandoned (the node stops)       nothing is recorded: its file stays as it was, and the next
 *                                    start of the node runs it
 * Each counted failure is written to the queue (attempts, last error, when it is due) before the
 * retry is scheduled, so a node that restarts keeps the count and the back-off. Events are removed
 * only once their final outcome is recorded.
 *
 * At most Policy.maxInFlight events run at once, so that events never fill the pools' queues that
 * synchronous invocations need; the rest wait their turn in order.
 *
 * Time comes from an injected Ticker and Scheduler, and every change of state runs on one injected
 * Executor (the node's is a single thread; tests run it in place), so the policy is unit-tested with
 * a fake clock, a fake dispatcher and no thread (EventWorkerTest).
 */
/** Runs queued events with retries and dead letters (see the comment above). */
public final class EventWorker {
    private static final System.Logger LOG = System.getLogger("thaw.node");

    /**
     * How events are retried.
     *
     * @param retries how many times a failed event is tried again (Lambda: 2)
     * @param retryDelay the wait before the first retry; each further retry waits twice as long as the
     *     previous one (Lambda: 1 minute, then 2)
     * @param refusedDelay the wait before trying again an event a full pool refused
     * @param maxInFlight at most this many events run at once
     */
    public record Policy(int retries, Duration retryDelay, Duration refusedDelay, int maxInFlight) {
        public Policy {
            Objects.requireNonNull(retryDelay, "retryDelay");
            Objects.requireNonNull(refusedDelay, "refusedDelay");
            if (retries < 0) {
                throw new IllegalArgumentException("retries must be >= 0, got " + retries);
            }
            if (retryDelay.isNegative() || refusedDelay.isNegative()) {
                throw new IllegalArgumentException("delays must not be negative, got " + retryDelay + " and " + refusedDelay);
            }
            if (maxInFlight < 1) {
                throw new IllegalArgumentException("maxInFlight must be >= 1, got " + maxInFlight);
            }
        }

        /** @return Lambda's policy: 2 retries, 1 then 2 minutes apart */
        public static Policy lambda() {
            return withRetryDelay(Duration.ofMinutes(1));
        }

        /** @return 2 retries, {@code retryDelay} then twice that apart; a refused event waits at most 1 s */
        public static Policy withRetryDelay(Duration retryDelay) {
            Duration refused = retryDelay.compareTo(Duration.ofSeconds(1)) < 0 ? retryDelay : Duration.ofSeconds(1);
            return new Policy(2, retryDelay, refused, 32);
        }

        /** @return the wait before retry {@code n} (1 for the first) */
        Duration delayBefore(int n) {
            return retryDelay.multipliedBy(1L << Math.min(20, n - 1));
        }
    }

    /** How one attempt of an event ended. */
    public sealed interface Outcome {
        /** The function answered. */
        record Success() implements Outcome {
        }

        /** The function failed (error, timeout, crash, init error): the attempt counts. */
        record Failure(String error) implements Outcome {
        }

        /** The function's pool could not take it now: tried again soon, the attempt does not count. */
        record Refused(String why) implements Outcome {
        }

        /** The function, or the version its qualifier named, no longer exists: a dead letter at once. */
        record Gone(String why) implements Outcome {
        }

        /** The node is stopping: nothing is recorded, the next start runs it. */
        record Abandoned(String why) implements Outcome {
        }
    }

    /** Runs one attempt of an event; the stage completes with its outcome. */
    @FunctionalInterface
    public interface Dispatcher {
        CompletionStage<Outcome> dispatch(QueuedEvent event);
    }

    /** What the worker tells the node's metrics. */
    public interface Observer {
        /** A new event was accepted. */
        default void queued(String function) {
        }

        /** An attempt failed and the event will be tried again. */
        default void retried(String function) {
        }

        /** A full pool refused the event; it will be tried again. */
        default void refused(String function) {
        }

        /** The event succeeded. */
        default void succeeded(String function) {
        }

        /** The event failed for good. */
        default void adopted(String function) {
        }

        default void deadLettered(String function) {
        }
    }

    private final EventQueue queue;
    private final Dispatcher dispatcher;
    private final Policy policy;
    private final Ticker ticker;
    private final Scheduler scheduler;
    private final Executor executor;
    private final Observer observer;

    // State, touched on the executor only.
    private final Map<String, Scheduler.Cancellable> timers = new HashMap<>();
    private final Deque<QueuedEvent> due = new ArrayDeque<>();
    private final Set<String> known = new HashSet<>();
    private int inFlight;
    private volatile int pending;
    private volatile boolean stopped;

    /**
     * @param queue where events are kept
     * @param dispatcher runs an attempt
     * @param policy retries and limits
     * @param ticker the clock ({@link Ticker#epochMillis()} dates the durable state)
     * @param scheduler fires retries
     * @param executor runs every change of the worker's state, one at a time
     * @param observer hears what happened, for metrics
     */
    public EventWorker(EventQueue queue, Dispatcher dispatcher, Policy policy, Ticker ticker, Scheduler scheduler,
                       Executor executor, Observer observer) {
        this.queue = Objects.requireNonNull(queue, "queue");
        this.dispatcher = Objects.requireNonNull(dispatcher, "dispatcher");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.executor = Objects.requireNonNull(executor, "executor");
        this.observer = Objects.requireNonNull(observer, "observer");
    }

    /** Schedules every event the queue holds (those a previous run of the node left), each when it is due. */
    public void start() throws IOException {
        List<QueuedEvent> left = queue.pending();
        executor.execute(() -> left.forEach(this::track));
    }

    /**
     * Accepts a new event: it is durable in the queue when this returns.
     *
     * @return the event, its request id new
     * @throws IllegalStateException when the worker was stopped
     */
    public QueuedEvent enqueue(String function, Optional<String> qualifier, byte[] payload) throws IOException {
        if (stopped) {
            throw new IllegalStateException("the event worker is stopped");
        }
        QueuedEvent e = QueuedEvent.of(UUID.randomUUID().toString(), function, qualifier, payload, now());
        queue.add(e);
        observer.queued(function);
        executor.execute(() -> track(e));
        return e;
    }

    /**
     * Takes over an event another node accepted and did not finish (it left the cluster): it is
     * durable in this node's queue when this returns, and runs when due, its attempts so far kept.
     *
     * @throws IllegalStateException when the worker was stopped
     */
    public void adopt(QueuedEvent e) throws IOException {
        if (stopped) {
            throw new IllegalStateException("the event worker is stopped");
        }
        queue.add(e);
        observer.adopted(e.function());
        executor.execute(() -> track(e));
    }

    /**
     * Dispatches nothing more; outcomes of events still running are not recorded, so their files stay
     * as they were and the next start of the node runs them again.
     */
    public void stop() {
        stopped = true;
        executor.execute(() -> {
            timers.values().forEach(Scheduler.Cancellable::cancel);
            timers.clear();
            due.clear();
        });
    }

    /** @return how many events are waiting or running */
    public int pending() {
        return pending;
    }

    // ---- on the executor -----------------------------------------------------------------------

    private void track(QueuedEvent e) {
        if (stopped || !known.add(e.requestId())) {
            return;
        }
        pending = known.size();
        schedule(e);
    }

    private void schedule(QueuedEvent e) {
        long delayMs = e.nextAttemptAt().toEpochMilli() - ticker.epochMillis();
        if (delayMs <= 0) {
            due.addLast(e);
            pump();
            return;
        }
        timers.put(e.requestId(), scheduler.schedule(() -> executor.execute(() -> {
            timers.remove(e.requestId());
            if (!stopped) {
                due.addLast(e);
                pump();
            }
        }), Duration.ofMillis(delayMs)));
    }

    private void pump() {
        while (!stopped && inFlight < policy.maxInFlight() && !due.isEmpty()) {
            QueuedEvent e = due.pollFirst();
            inFlight++;
            CompletionStage<Outcome> attempt;
            try {
                attempt = dispatcher.dispatch(e);
            } catch (RuntimeException ex) {
                attempt = CompletableFuture.completedFuture(new Outcome.Failure(describe(ex)));
            }
            attempt.whenComplete((outcome, failure) -> executor.execute(() ->
                    finished(e, outcome != null ? outcome : new Outcome.Failure(describe(failure)))));
        }
    }

    private void finished(QueuedEvent e, Outcome outcome) {
        inFlight--;
        if (stopped) {
            return; // recorded nowhere: the next start runs it again
        }
        try {
            switch (outcome) {
                case Outcome.Success s -> {
                    forget(e);
                    queue.remove(e);
                    observer.succeeded(e.function());
                }
                case Outcome.Failure f -> failed(e, f.error());
                case Outcome.Gone g -> {
                    forget(e);
                    queue.deadLetter(new DeadLetter(e, now(), g.why()));
                    observer.deadLettered(e.function());
                }
                case Outcome.Refused r -> {
                    observer.refused(e.function());
                    schedule(e.postponed(now().plus(policy.refusedDelay())));
                }
                case Outcome.Abandoned a -> schedule(e.postponed(now().plus(policy.refusedDelay())));
            }
        } catch (IOException | RuntimeException ex) {
            // The queue still holds the event as it was before this outcome: the next start of the node
            // runs it again (at least once), as a crash at this point would.
            LOG.log(System.Logger.Level.WARNING, "event " + e.requestId() + " of '" + e.function()
                    + "': its outcome could not be recorded (" + ex.getMessage() + "); it runs again after a restart");
            forget(e);
        }
        pump();
    }

    private void failed(QueuedEvent e, String error) throws IOException {
        int attempts = e.attempts() + 1;
        if (attempts > policy.retries()) {
            forget(e);
            QueuedEvent last = e.failed(error, now());
            queue.deadLetter(new DeadLetter(last, now(), error));
            observer.deadLettered(e.function());
            return;
        }
        QueuedEvent next = e.failed(error, now().plus(policy.delayBefore(attempts)));
        queue.add(next); // durable before it is scheduled: a restart keeps the count and the back-off
        observer.retried(e.function());
        schedule(next);
    }

    private void forget(QueuedEvent e) {
        known.remove(e.requestId());
        pending = known.size();
    }

    private Instant now() {
        return Instant.ofEpochMilli(ticker.epochMillis());
    }

    private static String describe(Throwable t) {
        Throwable cause = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        return cause.getClass().getSimpleName() + ": " + cause.getMessage();
    }
}
