package dev.thaw.node.event;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.node.event.EventWorker.Outcome;
import dev.thaw.node.pool.Scheduler;
import dev.thaw.node.pool.Ticker;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The retry policy of asynchronous invocations with a fake clock, a fake dispatcher standing in for
 * the pools, the real file queue, and no thread: every change of state runs in place.
 */
class EventWorkerTest {
    private static final Duration MINUTE = Duration.ofMinutes(1);

    @TempDir
    Path dir;

    /** A clock the test moves, with timers that fire when it passes them. */
    static final class FakeTime implements Ticker, Scheduler {
        private long millis = 1_800_000_000_000L;
        private final PriorityQueue<Timer> timers = new PriorityQueue<>((a, b) -> Long.compare(a.at, b.at));

        private static final class Timer implements Cancellable {
            final long at;
            final Runnable task;
            boolean cancelled;

            Timer(long at, Runnable task) {
                this.at = at;
                this.task = task;
            }

            @Override
            public void cancel() {
                cancelled = true;
            }
        }

        @Override
        public long nanos() {
            return millis * 1_000_000;
        }

        @Override
        public long epochMillis() {
            return millis;
        }

        @Override
        public Cancellable schedule(Runnable task, Duration delay) {
            Timer t = new Timer(millis + delay.toMillis(), task);
            timers.add(t);
            return t;
        }

        java.time.Instant now() {
            return java.time.Instant.ofEpochMilli(millis);
        }

        void advance(Duration d) {
            long until = millis + d.toMillis();
            while (!timers.isEmpty() && timers.peek().at <= until) {
                Timer t = timers.poll();
                millis = t.at;
                if (!t.cancelled) {
                    t.task.run();
                }
            }
            millis = until;
        }
    }

    /** Stands in for the pools: records each attempt and lets the test answer it. */
    static final class FakeDispatcher implements EventWorker.Dispatcher {
        final List<QueuedEvent> attempts = new ArrayList<>();
        final List<CompletableFuture<Outcome>> answers = new ArrayList<>();

        @Override
        public CompletionStage<Outcome> dispatch(QueuedEvent event) {
            attempts.add(event);
            CompletableFuture<Outcome> f = new CompletableFuture<>();
            answers.add(f);
            return f;
        }

        void answerLast(Outcome o) {
            answers.getLast().complete(o);
        }
    }

    /** Counts what the worker reports, as the node's metrics would. */
    static final class Counts implements EventWorker.Observer {
        int queued;
        int retried;
        int refused;
        int succeeded;
        int dead;

        @Override
        public void queued(String function) {
            queued++;
        }

        @Override
        public void retried(String function) {
            retried++;
        }

        @Override
        public void refused(String function) {
            refused++;
        }

        @Override
        public void succeeded(String function) {
            succeeded++;
        }

        @Override
        public void deadLettered(String function) {
            dead++;
        }
    }

    final FakeTime time = new FakeTime();
    final FakeDispatcher dispatcher = new FakeDispatcher();
    final Counts counts = new Counts();

    private EventWorker worker(EventQueue queue, EventWorker.Policy policy) {
        return new EventWorker(queue, dispatcher, policy, time, time, Runnable::run, counts);
    }

    private static byte[] json(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aNewEventRunsAtOnceAndLeavesTheQueueWhenItSucceeds() throws IOException {
        EventQueue queue = EventQueue.files(dir);
        EventWorker w = worker(queue, EventWorker.Policy.lambda());
        w.start();
        QueuedEvent e = w.enqueue("fn", Optional.of("live"), json("{\"a\":1}"));
        assertThat(queue.pending()).as("durable before enqueue returns").extracting(QueuedEvent::requestId)
                .containsExactly(e.requestId());
        assertThat(dispatcher.attempts).hasSize(1);
        assertThat(dispatcher.attempts.getFirst().qualifier()).hasValue("live");
        assertThat(w.pending()).isEqualTo(1);

        dispatcher.answerLast(new Outcome.Success());
        assertThat(queue.pending()).isEmpty();
        assertThat(queue.deadLetters("fn")).isEmpty();
        assertThat(w.pending()).isZero();
        assertThat(counts.queued).isEqualTo(1);
        assertThat(counts.succeeded).isEqualTo(1);
    }

    @Test
    void aFailingEventIsRetriedTwiceAfterOneThenTwoMinutesThenBecomesADeadLetter() throws IOException {
        EventQueue queue = EventQueue.files(dir);
        EventWorker w = worker(queue, EventWorker.Policy.lambda());
        w.start();
        QueuedEvent e = w.enqueue("fn", Optional.empty(), json("{}"));
        dispatcher.answerLast(new Outcome.Failure("java.lang.IllegalStateException: first"));
        assertThat(queue.pending()).singleElement().satisfies(p -> {
            assertThat(p.attempts()).isEqualTo(1);
            assertThat(p.lastError()).hasValue("java.lang.IllegalStateException: first");
            assertThat(p.nextAttemptAt().toEpochMilli()).isEqualTo(time.epochMillis() + MINUTE.toMillis());
        });

        time.advance(MINUTE.minusMillis(1));
        assertThat(dispatcher.attempts).as("not before a minute").hasSize(1);
        time.advance(Duration.ofMillis(1));
        assertThat(dispatcher.attempts).as("the first retry").hasSize(2);
        dispatcher.answerLast(new Outcome.Failure("Sandbox.Timedout: Task timed out after 3.00 seconds"));

        time.advance(Duration.ofMinutes(2).minusMillis(1));
        assertThat(dispatcher.attempts).as("the second retry waits two minutes").hasSize(2);
        time.advance(Duration.ofMillis(1));
        assertThat(dispatcher.attempts).hasSize(3);
        assertThat(dispatcher.attempts.getLast().attempts()).isEqualTo(2);
        dispatcher.answerLast(new Outcome.Failure("Runtime.ExitError: exited with code 3"));

        assertThat(queue.pending()).isEmpty();
        assertThat(queue.deadLetters("fn")).singleElement().satisfies(d -> {
            assertThat(d.event().requestId()).isEqualTo(e.requestId());
            assertThat(d.event().attempts()).isEqualTo(3);
            assertThat(d.error()).isEqualTo("Runtime.ExitError: exited with code 3");
            assertThat(d.failedAt().toEpochMilli()).isEqualTo(time.epochMillis());
            assertThat(d.event().payload()).isEqualTo(json("{}"));
        });
        time.advance(Duration.ofHours(1));
        assertThat(dispatcher.attempts).as("never again").hasSize(3);
        assertThat(counts.retried).isEqualTo(2);
        assertThat(counts.dead).isEqualTo(1);
        assertThat(w.pending()).isZero();
    }

    @Test
    void anEventAFullPoolRefusesIsTriedAgainWithoutCountingAndNeverDropped() throws IOException {
        EventQueue queue = EventQueue.files(dir);
        EventWorker w = worker(queue, new EventWorker.Policy(2, MINUTE, Duration.ofSeconds(1), 32));
        w.start();
        w.enqueue("fn", Optional.empty(), json("1"));
        for (int i = 0; i < 500; i++) {
            dispatcher.answerLast(new Outcome.Refused("all instances busy"));
            time.advance(Duration.ofSeconds(1));
        }
        assertThat(dispatcher.attempts).hasSize(501);
        assertThat(dispatcher.attempts.getLast().attempts()).as("refusals do not count").isZero();
        assertThat(queue.pending()).hasSize(1);
        dispatcher.answerLast(new Outcome.Failure("boom"));
        assertThat(queue.pending()).singleElement().satisfies(p -> assertThat(p.attempts()).isEqualTo(1));
        time.advance(MINUTE);
        dispatcher.answerLast(new Outcome.Success());
        assertThat(queue.pending()).isEmpty();
        assertThat(queue.deadLetters("fn")).isEmpty();
        assertThat(counts.refused).isEqualTo(500);
    }

    @Test
    void theCountAndTheBackOffSurviveARestartOfTheWorker() throws IOException {
        EventWorker first = worker(EventQueue.files(dir), EventWorker.Policy.lambda());
        first.start();
        QueuedEvent e = first.enqueue("fn", Optional.of("3"), json("{\"k\":true}"));
        dispatcher.answerLast(new Outcome.Failure("first failure"));
        time.advance(Duration.ofSeconds(20));
        first.stop();

        // a new node on the same data directory
        EventQueue reopened = EventQueue.files(dir);
        EventWorker second = worker(reopened, EventWorker.Policy.lambda());
        second.start();
        assertThat(dispatcher.attempts).as("still 40 s to wait").hasSize(1);
        time.advance(Duration.ofSeconds(40));
        assertThat(dispatcher.attempts).hasSize(2);
        QueuedEvent retried = dispatcher.attempts.getLast();
        assertThat(retried.requestId()).isEqualTo(e.requestId());
        assertThat(retried.attempts()).isEqualTo(1);
        assertThat(retried.qualifier()).hasValue("3");
        assertThat(retried.payload()).isEqualTo(json("{\"k\":true}"));
        dispatcher.answerLast(new Outcome.Failure("second"));
        time.advance(Duration.ofMinutes(2));
        dispatcher.answerLast(new Outcome.Failure("third"));
        assertThat(reopened.deadLetters("fn")).singleElement()
                .satisfies(d -> assertThat(d.event().attempts()).isEqualTo(3));
    }

    @Test
    void anEventRunningWhenTheWorkerStopsIsLeftAsItWasAndRunsAtTheNextStart() throws IOException {
        EventWorker first = worker(EventQueue.files(dir), EventWorker.Policy.lambda());
        first.start();
        first.enqueue("fn", Optional.empty(), json("{}"));
        first.stop();
        dispatcher.answerLast(new Outcome.Abandoned("the node is shutting down"));
        assertThat(EventQueue.files(dir).pending()).singleElement().satisfies(p -> assertThat(p.attempts()).isZero());

        EventWorker second = worker(EventQueue.files(dir), EventWorker.Policy.lambda());
        second.start();
        assertThat(dispatcher.attempts).as("due at once").hasSize(2);
        dispatcher.answerLast(new Outcome.Success());
        assertThat(EventQueue.files(dir).pending()).isEmpty();
    }

    @Test
    void aFailureAfterTheWorkerStoppedIsNotCounted() throws IOException {
        EventWorker first = worker(EventQueue.files(dir), EventWorker.Policy.lambda());
        first.start();
        first.enqueue("fn", Optional.empty(), json("{}"));
        first.stop();
        dispatcher.answerLast(new Outcome.Failure("killed by the shutdown"));
        assertThat(EventQueue.files(dir).pending()).singleElement().satisfies(p -> assertThat(p.attempts()).isZero());
    }

    @Test
    void anEventForAFunctionThatIsGoneIsADeadLetterAtOnce() throws IOException {
        EventQueue queue = EventQueue.files(dir);
        EventWorker w = worker(queue, EventWorker.Policy.lambda());
        w.start();
        w.enqueue("fn", Optional.of("old"), json("{}"));
        dispatcher.answerLast(new Outcome.Gone("function 'fn' has no alias 'old'"));
        assertThat(queue.pending()).isEmpty();
        assertThat(queue.deadLetters("fn")).singleElement().satisfies(d -> {
            assertThat(d.error()).isEqualTo("function 'fn' has no alias 'old'");
            assertThat(d.event().attempts()).isZero();
        });
        assertThat(queue.clearDeadLetters("fn")).isEqualTo(1);
        assertThat(queue.deadLetters("fn")).isEmpty();
    }

    @Test
    void atMostMaxInFlightEventsRunAtOnceAndTheRestWaitInOrder() throws IOException {
        EventWorker w = worker(EventQueue.files(dir), new EventWorker.Policy(2, MINUTE, Duration.ofSeconds(1), 2));
        w.start();
        List<QueuedEvent> events = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            events.add(w.enqueue("fn", Optional.empty(), json(Integer.toString(i))));
        }
        assertThat(dispatcher.attempts).hasSize(2);
        dispatcher.answers.getFirst().complete(new Outcome.Success());
        assertThat(dispatcher.attempts).hasSize(3);
        assertThat(dispatcher.attempts.getLast().requestId()).isEqualTo(events.get(2).requestId());
        assertThat(w.pending()).isEqualTo(4);
    }

    @Test
    void aDispatcherThatThrowsCountsAsAFailedAttempt() throws IOException {
        EventQueue queue = EventQueue.files(dir);
        EventWorker w = new EventWorker(queue, e -> {
            throw new IllegalStateException("no pool");
        }, EventWorker.Policy.lambda(), time, time, Runnable::run, counts);
        w.start();
        w.enqueue("fn", Optional.empty(), json("{}"));
        assertThat(queue.pending()).singleElement().satisfies(p -> {
            assertThat(p.attempts()).isEqualTo(1);
            assertThat(p.lastError()).hasValue("IllegalStateException: no pool");
        });
    }

    @Test
    void openingTheQueueFinishesAMoveToTheDeadLettersThatACrashInterrupted() throws IOException {
        EventQueue queue = EventQueue.files(dir);
        QueuedEvent e = QueuedEvent.of("req-1", "fn", Optional.empty(), json("{}"), time.now());
        queue.add(e);
        // as if the node crashed after writing the dead letter and before deleting the pending file
        queue.deadLetter(new DeadLetter(e, time.now(), "failed"));
        queue.add(e);
        Files.writeString(dir.resolve("pending/.req-2.json.tmp"), "{\"torn");
        assertThat(EventQueue.files(dir).pending()).isEmpty();
        assertThat(EventQueue.files(dir).deadLetters("fn")).hasSize(1);
        assertThat(dir.resolve("pending/.req-2.json.tmp")).doesNotExist();
    }
}
