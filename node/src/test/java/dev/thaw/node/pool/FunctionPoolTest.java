package dev.thaw.node.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.thaw.core.ErrorType;
import dev.thaw.core.FunctionErrorException;
import dev.thaw.core.StartKind;
import dev.thaw.core.ThawException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.PriorityQueue;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/**
 * The scheduling policy with a fake clock, fake timers and fake instances: no process, no thread,
 * no sleep. Each test drives the pool the way instances and time would.
 */
class FunctionPoolTest {

    /** A clock the test moves by hand, with timers that fire when it passes their time. */
    static final class FakeTime implements Ticker, Scheduler {
        private long nanos = 1_000_000_000L;
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
            return nanos;
        }

        @Override
        public long epochMillis() {
            return 1_800_000_000_000L + nanos / 1_000_000;
        }

        @Override
        public Cancellable schedule(Runnable task, Duration delay) {
            Timer t = new Timer(nanos + delay.toNanos(), task);
            timers.add(t);
            return t;
        }

        void advance(Duration d) {
            long until = nanos + d.toNanos();
            while (!timers.isEmpty() && timers.peek().at <= until) {
                Timer t = timers.poll();
                nanos = t.at;
                if (!t.cancelled) {
                    t.task.run();
                }
            }
            nanos = until;
        }
    }

    /** An instance that does what the test tells it to; its runtime is the test. */
    static final class FakeInstance implements PoolInstance {
        final String id;
        final StartKind kind;
        final List<Invocation> handed = new ArrayList<>();
        volatile boolean stopped;
        long memoryPeak = 42L << 20;
        int firstAnswers;

        FakeInstance(String id, StartKind kind) {
            this.id = id;
            this.kind = kind;
        }

        @Override
        public String id() {
            return id;
        }

        @Override
        public StartKind kind() {
            return kind;
        }

        @Override
        public void hand(Invocation invocation) {
            handed.add(invocation);
        }

        @Override
        public void stop() {
            stopped = true;
        }

        @Override
        public StartReport startReport() {
            return null;
        }

        @Override
        public double checkpointMs() {
            return Double.NaN;
        }

        @Override
        public void firstInvocationAnswered() {
            firstAnswers++;
        }

        @Override
        public void resetMemoryPeak() {
        }

        @Override
        public OptionalLong memoryPeakBytes() {
            return OptionalLong.of(memoryPeak);
        }

        Invocation last() {
            return handed.getLast();
        }
    }

    /** Starts fake instances and lets the test hold starts back, as a pending checkpoint does. */
    static final class FakeStarter implements InstanceStarter {
        final List<FakeInstance> started = new ArrayList<>();
        /** For each start, whether the pool asked for a pre-restored clone (which rehearses). */
        final List<Boolean> clones = new ArrayList<>();
        boolean mayStart = true;
        boolean restoresAhead = true;
        boolean snapshotsAhead;
        StartKind kind = StartKind.BOOT;

        @Override
        public boolean snapshotsAhead() {
            return snapshotsAhead;
        }

        @Override
        public boolean restoresAhead() {
            return restoresAhead;
        }

        @Override
        public boolean mayStart() {
            return mayStart;
        }

        @Override
        public PoolInstance start(InstanceEvents events) {
            return start(events, false);
        }

        @Override
        public PoolInstance start(InstanceEvents events, boolean clone) {
            FakeInstance i = new FakeInstance("i" + started.size(), kind);
            started.add(i);
            clones.add(clone);
            return i;
        }
    }

    /** Collects what the pool logs and counts. */
    static final class Recorder implements PoolObserver {
        final List<String> lines = new ArrayList<>();
        final List<String> codes = new ArrayList<>();

        @Override
        public void log(String line) {
            lines.add(line);
        }

        @Override
        public void invocation(String code, StartKind start, double seconds) {
            codes.add(code + "/" + start.wireName());
        }

        @Override
        public void coldStart(StartKind kind, double seconds) {
        }

        @Override
        public void counts(dev.thaw.core.FunctionInfo.InstanceCounts counts) {
        }
    }

    private final FakeTime time = new FakeTime();
    private final FakeStarter starter = new FakeStarter();
    private final Recorder recorder = new Recorder();

    private FunctionPool pool(int maxInstances, int timeoutMs, int queueLimit) {
        return new FunctionPool(new FunctionPool.Settings("fn", 3, maxInstances, timeoutMs, 256, queueLimit),
                starter, time, time, recorder);
    }

    private static Invocation invocation(String json) {
        return new Invocation(json.getBytes(StandardCharsets.UTF_8));
    }

    private static String body(Invocation inv) throws Exception {
        return new String(inv.result().get().body(), StandardCharsets.UTF_8);
    }

    @Test
    void aDeploysSnapshotBootThatNoInvocationWaitedForStopsOnceUp() throws Exception {
        FunctionPool pool = pool(4, 30_000, 10);
        assertThat(pool.snapshotAhead()).isFalse(); // the starter would take no snapshot
        starter.snapshotsAhead = true;
        assertThat(pool.snapshotAhead()).isTrue();
        assertThat(pool.snapshotAhead()).isFalse(); // one boot, not one per call
        assertThat(starter.started).hasSize(1);
        assertThat(starter.clones).containsExactly(false);
        assertThat(pool.awaited()).isFalse(); // its warm-up may run long

        time.advance(Duration.ofSeconds(9));
        FakeInstance boot = starter.started.get(0);
        pool.ready(boot);
        assertThat(boot.stopped).as("the snapshot was its work; a deploy leaves nothing running").isTrue();
        starter.kind = StartKind.RESTORE;
        Invocation inv = pool.submit(invocation("{}"));
        assertThat(starter.started).as("a clone for the first invocation").hasSize(2);
        assertThat(boot.handed).isEmpty();
        pool.ready(starter.started.get(1));
        assertThat(inv.start()).isEqualTo(StartKind.RESTORE);
    }

    @Test
    void anInvocationThatWaitsForADeploysSnapshotBootEndsItsWarmUpAndCountsOnlyItsOwnWait() throws Exception {
        FunctionPool pool = pool(4, 30_000, 10);
        starter.snapshotsAhead = true;
        pool.snapshotAhead();
        starter.mayStart = false; // the boot's checkpoint is pending: no second start
        time.advance(Duration.ofSeconds(2));
        Invocation inv = pool.submit(invocation("{}"));
        assertThat(starter.started).hasSize(1);
        assertThat(pool.awaited()).isTrue();

        time.advance(Duration.ofMillis(300));
        pool.ready(starter.started.get(0));
        assertThat(pool.awaited()).isFalse();
        assertThat(starter.started.get(0).stopped).as("it serves the invocation that waited").isFalse();
        assertThat(inv.start()).isEqualTo(StartKind.BOOT);
        assertThat(pool.completed(starter.started.get(0), inv.requestId(), "1".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(inv.result().get().coldStartMs()).hasValue(300.0); // not the 2.3 s the boot took
    }

    /** The pool's one instance, ready, once it has served {@code n} invocations. */
    private FakeInstance oneInstanceThatServed(FunctionPool pool, int n) {
        for (int k = 1; k <= n; k++) {
            Invocation inv = pool.submit(invocation(Integer.toString(k)));
            if (k == 1) {
                pool.ready(starter.started.get(0));
            }
            pool.completed(starter.started.get(0), inv.requestId(), new byte[0]);
        }
        return starter.started.get(0);
    }

    @Test
    void anInstanceLentForItsSnapshotTakesNoInvocationIsLeftByEvictionAndServesAgainOnceGivenBack() throws Exception {
        FunctionPool pool = pool(1, 30_000, 10);
        List<PoolInstance> later = new ArrayList<>();
        FakeInstance i = oneInstanceThatServed(pool, 1);
        assertThat(pool.lend(2, p -> true, later::add)).as("it served one invocation, not two").isEmpty();
        oneInstanceThatServed(pool, 1);
        assertThat(pool.lend(2, p -> false, later::add)).as("not eligible").isEmpty();
        assertThat(pool.served(i)).isEqualTo(2);

        assertThat(pool.lend(2, p -> true, later::add)).contains(new FunctionPool.Loan(i, true));
        assertThat(later).as("lent at once: nothing to tell later").isEmpty();
        assertThat(pool.counts().busy()).isEqualTo(1);
        assertThat(pool.lend(2, p -> true, later::add)).as("lent once").isEmpty();
        Invocation waiting = pool.submit(invocation("3"));
        assertThat(i.handed).as("no invocation goes to a lent instance").hasSize(2);
        assertThat(pool.ahead().inFlight()).as("the lent instance is no demand").isEqualTo(1);
        assertThat(pool.evictIdle()).isZero();
        pool.retire(0, 0, Duration.ZERO, Duration.ZERO);
        assertThat(i.stopped).isFalse();

        pool.giveBack(i);
        assertThat(i.handed).hasSize(3).endsWith(waiting);
        pool.completed(i, waiting.requestId(), "3".getBytes(StandardCharsets.UTF_8));
        assertThat(body(waiting)).isEqualTo("3");
        pool.giveBack(i); // not lent: nothing happens
        assertThat(pool.counts().idle()).isEqualTo(1);
    }

    @Test
    void aBusyInstanceIsLentAsItsInvocationEndsBeforeItTakesTheNext() throws Exception {
        FunctionPool pool = pool(1, 30_000, 10);
        List<PoolInstance> later = new ArrayList<>();
        Invocation first = pool.submit(invocation("1"));
        FakeInstance i = starter.started.get(0);
        pool.ready(i);
        Invocation queued = pool.submit(invocation("2"));
        assertThat(pool.lend(1, p -> true, later::add)).contains(new FunctionPool.Loan(i, false));
        assertThat(later).isEmpty();
        assertThat(pool.lend(1, p -> true, later::add)).as("asked once").isEmpty();

        pool.completed(i, first.requestId(), "1".getBytes(StandardCharsets.UTF_8));
        assertThat(body(first)).isEqualTo("1");
        assertThat(later).containsExactly(i);
        assertThat(i.handed).as("the queued invocation waits for the loan's end").containsExactly(first);
        pool.giveBack(i);
        assertThat(i.handed).containsExactly(first, queued);
    }

    @Test
    void anInstanceGivenBackAfterItsPoolClosedIsStopped() {
        FunctionPool pool = pool(1, 30_000, 10);
        FakeInstance i = oneInstanceThatServed(pool, 1);
        assertThat(pool.lend(1, p -> true, p -> { })).isPresent();
        pool.close();
        assertThat(i.stopped).as("busy with its snapshot: stopped once given back").isFalse();
        pool.giveBack(i);
        assertThat(i.stopped).isTrue();
    }

    @Test
    void aPoolWithAnInstanceBootsNoSnapshotAhead() {
        FunctionPool pool = pool(4, 30_000, 10);
        pool.submit(invocation("{}"));
        starter.snapshotsAhead = true;
        assertThat(pool.snapshotAhead()).isFalse();
        assertThat(starter.started).hasSize(1);
    }

    @Test
    void aColdInvocationStartsAnInstanceAndIsHandedOverWithItsDeadlineWhenTheInstanceIsReady() throws Exception {
        FunctionPool pool = pool(4, 30_000, 10);
        Invocation inv = pool.submit(invocation("{}"));
        assertThat(starter.started).hasSize(1);
        FakeInstance i = starter.started.get(0);
        assertThat(i.handed).isEmpty();

        time.advance(Duration.ofMillis(700));
        pool.ready(i);
        assertThat(i.handed).containsExactly(inv);
        assertThat(inv.deadlineEpochMs()).isEqualTo(time.epochMillis() + 30_000);
        assertThat(inv.start()).isEqualTo(StartKind.BOOT);

        assertThat(pool.completed(i, inv.requestId(), "42".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(body(inv)).isEqualTo("42");
        assertThat(inv.result().get().coldStartMs()).hasValue(700.0);
        assertThat(inv.result().get().maxMemoryBytes()).hasValue(42L << 20);
        assertThat(i.firstAnswers).isEqualTo(1);
        assertThat(recorder.lines).anyMatch(l -> l.startsWith("REPORT RequestId: " + inv.requestId())
                && l.contains("Init Duration: 700.00 ms") && l.contains("Max Memory Used: 42 MB"));
        assertThat(pool.counts().idle()).isEqualTo(1);
    }

    @Test
    void aWarmInvocationReusesTheIdleInstanceWithoutAColdStart() throws Exception {
        FunctionPool pool = pool(4, 30_000, 10);
        Invocation first = pool.submit(invocation("1"));
        FakeInstance i = starter.started.get(0);
        pool.ready(i);
        pool.completed(i, first.requestId(), "1".getBytes(StandardCharsets.UTF_8));

        Invocation second = pool.submit(invocation("2"));
        assertThat(starter.started).hasSize(1);
        assertThat(i.last()).isSameAs(second);
        pool.completed(i, second.requestId(), "2".getBytes(StandardCharsets.UTF_8));
        assertThat(second.result().get().start()).isEqualTo(StartKind.WARM);
        assertThat(second.result().get().coldStartMs()).isEmpty();
        assertThat(i.firstAnswers).isEqualTo(1);
    }

    @Test
    void aBurstStartsAtMostMaxStartingAtOnceAndMoreOnlyWhileInvocationsStillWait() throws Exception {
        FunctionPool pool = new FunctionPool(new FunctionPool.Settings("fn", 3, 8, 30_000, 256, 100, 2),
                starter, time, time, recorder);
        List<Invocation> burst = new ArrayList<>();
        for (int k = 0; k < 6; k++) {
            burst.add(pool.submit(invocation("{}")));
        }
        assertThat(starter.started).as("two starts for six waiting invocations").hasSize(2);
        FakeInstance first = starter.started.get(0);
        pool.ready(first);
        assertThat(first.last()).isSameAs(burst.get(0));
        assertThat(starter.started).as("five still wait, one start is coming: two at once again").hasSize(3);
        // the first instance answers fast and takes the rest in turn: no start beyond what still waits
        for (int k = 0; k < 6; k++) {
            Invocation done = first.last();
            pool.completed(first, done.requestId(), "1".getBytes(StandardCharsets.UTF_8));
        }
        assertThat(burst).allMatch(inv -> inv.result().isDone());
        assertThat(starter.started).as("no start once nothing waits").hasSize(3);
        FunctionPool unbounded = pool(8, 30_000, 100);
        for (int k = 0; k < 6; k++) {
            unbounded.submit(invocation("{}"));
        }
        assertThat(starter.started).as("without a bound, one start per waiting invocation").hasSize(3 + 6);
    }

    @Test
    void startsAheadOfDemandArePacedTooAndTheCallerIsToldWhenThereIsRoomAgain() {
        FunctionPool pool = new FunctionPool(new FunctionPool.Settings("fn", 3, 8, 30_000, 256, 100, 2),
                starter, time, time, recorder);
        java.util.concurrent.atomic.AtomicInteger room = new java.util.concurrent.atomic.AtomicInteger();
        pool.onStartRoom(room::incrementAndGet);
        assertThat(pool.startAhead(5, true)).as("two at once").isEqualTo(2);
        assertThat(starter.started).hasSize(2);
        pool.ready(starter.started.get(0));
        assertThat(room.get()).as("told once a start ended").isEqualTo(1);
        assertThat(pool.startAhead(3, true)).as("room for one more").isEqualTo(1);
        pool.ready(starter.started.get(1));
        pool.ready(starter.started.get(2));
        assertThat(room.get()).as("told again only after another hold-back").isEqualTo(2);
        assertThat(pool.startAhead(1, true)).isEqualTo(1);
        pool.ready(starter.started.get(3));
        assertThat(room.get()).as("nothing was held back: not told").isEqualTo(2);
    }

    @Test
    void noMoreInstancesThanMaxInstancesAndTheRestWaitInOrder() throws Exception {
        FunctionPool pool = pool(2, 30_000, 10);
        Invocation a = pool.submit(invocation("\"a\""));
        Invocation b = pool.submit(invocation("\"b\""));
        Invocation c = pool.submit(invocation("\"c\""));
        assertThat(starter.started).hasSize(2);
        assertThat(pool.counts().queued()).isEqualTo(3);
        FakeInstance i0 = starter.started.get(0);
        FakeInstance i1 = starter.started.get(1);
        pool.ready(i1);
        pool.ready(i0);
        assertThat(i1.handed).containsExactly(a);
        assertThat(i0.handed).containsExactly(b);

        pool.completed(i1, a.requestId(), "1".getBytes(StandardCharsets.UTF_8));
        assertThat(i1.handed).containsExactly(a, c);
        assertThat(starter.started).hasSize(2);
    }

    @Test
    void aFullQueueRefusesWithTooManyRequestsNamingTheLimit() {
        FunctionPool pool = pool(1, 30_000, 2);
        pool.submit(invocation("1"));
        pool.submit(invocation("2"));
        assertThatThrownBy(() -> pool.submit(invocation("3")))
                .isInstanceOfSatisfying(ThawException.class, e -> {
                    assertThat(e.type()).isEqualTo(ErrorType.TooManyRequests);
                    assertThat(e.getMessage()).contains("1 instances busy and 2 invocations queued (the limit)");
                });
    }

    @Test
    void startsWaitWhileTheStarterHoldsThemBackAndBeginWhenReleased() {
        FunctionPool pool = pool(4, 30_000, 10);
        starter.mayStart = false;
        pool.submit(invocation("1"));
        pool.submit(invocation("2"));
        assertThat(starter.started).isEmpty();

        starter.mayStart = true;
        pool.startsMayBegin();
        assertThat(starter.started).hasSize(2);
    }

    @Test
    void anInvocationPastItsTimeoutFailsAndItsInstanceIsStopped() throws Exception {
        FunctionPool pool = pool(1, 1_000, 10);
        Invocation inv = pool.submit(invocation("{}"));
        FakeInstance i = starter.started.get(0);
        pool.ready(i);

        time.advance(Duration.ofMillis(999));
        assertThat(inv.isDone()).isFalse();
        time.advance(Duration.ofMillis(2));
        assertThat(i.stopped).isTrue();
        assertThatThrownBy(() -> inv.result().get()).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOfSatisfying(ThawException.class, e -> {
                    assertThat(e.type()).isEqualTo(ErrorType.FunctionTimeout);
                    assertThat(e.getMessage()).isEqualTo("function 'fn' timed out after 1000 ms; its instance was stopped");
                });
        // a reply after the timeout is refused: it may not reach the caller twice
        assertThat(pool.completed(i, inv.requestId(), "late".getBytes(StandardCharsets.UTF_8))).isFalse();
        assertThat(recorder.codes).containsExactly("504/boot");
    }

    @Test
    void aReplyForAnotherRequestIdIsRefused() {
        FunctionPool pool = pool(1, 30_000, 10);
        Invocation inv = pool.submit(invocation("{}"));
        FakeInstance i = starter.started.get(0);
        pool.ready(i);
        assertThat(pool.completed(i, "not-" + inv.requestId(), "forged".getBytes(StandardCharsets.UTF_8))).isFalse();
        assertThat(pool.failed(i, "other", "X", "forged", List.of())).isFalse();
        assertThat(inv.isDone()).isFalse();
    }

    @Test
    void aFunctionErrorAnswersWithTheFunctionsErrorTypeAndTheInstanceStaysWarm() throws Exception {
        FunctionPool pool = pool(1, 30_000, 10);
        Invocation inv = pool.submit(invocation("{}"));
        FakeInstance i = starter.started.get(0);
        pool.ready(i);
        assertThat(pool.failed(i, inv.requestId(), "java.lang.IllegalStateException", "boom", List.of("at X"))).isTrue();
        assertThatThrownBy(() -> inv.result().get()).cause().isInstanceOfSatisfying(FunctionErrorException.class, e -> {
            assertThat(e.functionErrorType()).isEqualTo("java.lang.IllegalStateException");
            assertThat(e.getMessage()).contains("boom");
        });
        assertThat(pool.counts().idle()).isEqualTo(1);
    }

    @Test
    void anInstanceThatDiesWhileServingFailsItsInvocationAsCrashedOrOutOfMemory() {
        FunctionPool pool = pool(2, 30_000, 10);
        Invocation a = pool.submit(invocation("1"));
        FakeInstance i = starter.started.get(0);
        pool.ready(i);
        pool.exited(i, Exit.of("was killed by signal 9 (SIGKILL)"));
        assertThatThrownBy(() -> a.result().get()).cause().isInstanceOfSatisfying(ThawException.class, e -> {
            assertThat(e.type()).isEqualTo(ErrorType.InstanceCrashed);
            assertThat(e.getMessage()).isEqualTo("the instance of function 'fn' was killed by signal 9 (SIGKILL)"
                    + " while running the invocation");
        });

        Invocation b = pool.submit(invocation("2"));
        FakeInstance j = starter.started.get(1);
        pool.ready(j);
        pool.exited(j, new Exit("ran out of memory: it passed its limit of 256 MB", false, Optional.empty(), true));
        assertThatThrownBy(() -> b.result().get()).cause().isInstanceOfSatisfying(ThawException.class,
                e -> assertThat(e.type()).isEqualTo(ErrorType.OutOfMemory));
    }

    @Test
    void aRetriedInvocationGoesBackToTheHeadOfTheQueueAndAnotherInstanceStarts() throws Exception {
        FunctionPool pool = pool(1, 30_000, 10);
        starter.kind = StartKind.RESTORE;
        Invocation a = pool.submit(invocation("1"));
        FakeInstance i = starter.started.get(0);
        pool.ready(i);
        starter.kind = StartKind.BOOT;
        pool.exited(i, new Exit("the page source failed", true, Optional.empty(), false));
        assertThat(a.isDone()).isFalse();
        assertThat(starter.started).hasSize(2);
        FakeInstance boot = starter.started.get(1);
        pool.ready(boot);
        assertThat(boot.handed).containsExactly(a);
    }

    @Test
    void aStartThatFailsWithAnErrorFailsTheOldestWaitingInvocationOnly() throws Exception {
        FunctionPool pool = pool(1, 30_000, 10);
        Invocation a = pool.submit(invocation("1"));
        Invocation b = pool.submit(invocation("2"));
        FakeInstance i = starter.started.get(0);
        pool.exited(i, new Exit("init failed", false,
                Optional.of(new ThawException(ErrorType.FunctionInitError, "function 'fn' failed to initialize")), false));
        assertThatThrownBy(() -> a.result().get()).cause().isInstanceOfSatisfying(ThawException.class,
                e -> assertThat(e.type()).isEqualTo(ErrorType.FunctionInitError));
        assertThat(b.isDone()).isFalse();
        assertThat(starter.started).hasSize(2); // b gets a start of its own
    }

    @Test
    void aRestoreThatFailsWithoutAnErrorIsReplacedByAnotherStart() {
        FunctionPool pool = pool(1, 30_000, 10);
        starter.kind = StartKind.RESTORE;
        Invocation a = pool.submit(invocation("1"));
        pool.exited(starter.started.get(0), Exit.of("criu restore exited with code 1"));
        assertThat(a.isDone()).isFalse();
        assertThat(starter.started).hasSize(2);
    }

    @Test
    void idleInstancesRetireAfterTheKeepAliveOnly() {
        FunctionPool pool = pool(1, 30_000, 10);
        Invocation a = pool.submit(invocation("1"));
        FakeInstance i = starter.started.get(0);
        pool.ready(i);
        pool.completed(i, a.requestId(), "1".getBytes(StandardCharsets.UTF_8));

        time.advance(Duration.ofMinutes(9));
        pool.retireIdle(Duration.ofMinutes(10));
        assertThat(i.stopped).isFalse();
        time.advance(Duration.ofMinutes(2));
        pool.retireIdle(Duration.ofMinutes(10));
        assertThat(i.stopped).isTrue();
    }

    @Test
    void closingStopsIdleAndStartingInstancesAndHandsBackWhatWaited() {
        FunctionPool pool = pool(2, 30_000, 10);
        Invocation a = pool.submit(invocation("1"));
        Invocation b = pool.submit(invocation("2"));
        FakeInstance busy = starter.started.get(0);
        FakeInstance starting = starter.started.get(1);
        pool.ready(busy);
        Invocation c = pool.submit(invocation("3"));
        List<Invocation> pending = pool.close();
        assertThat(pending).containsExactly(b, c);
        assertThat(starting.stopped).isTrue();
        assertThat(busy.stopped).isFalse(); // finishes its invocation first
        assertThat(busy.handed).containsExactly(a);
        assertThatThrownBy(() -> pool.submit(invocation("4"))).isInstanceOfSatisfying(ThawException.class,
                e -> assertThat(e.type()).isEqualTo(ErrorType.ServiceUnavailable));
        pool.completed(busy, a.requestId(), "1".getBytes(StandardCharsets.UTF_8));
        assertThat(busy.stopped).isTrue();
    }

    @Test
    void evictStopsIdleInstancesAndWaitsUntilTheyExited() throws Exception {
        FunctionPool pool = pool(1, 30_000, 10);
        Invocation a = pool.submit(invocation("1"));
        FakeInstance i = starter.started.get(0);
        pool.ready(i);
        pool.completed(i, a.requestId(), "1".getBytes(StandardCharsets.UTF_8));
        Thread exiter = Thread.ofVirtual().start(() -> {
            while (!i.stopped) {
                Thread.onSpinWait();
            }
            pool.exited(i, Exit.of("was killed by signal 9 (SIGKILL)"));
        });
        assertThat(pool.evictIdle()).isEqualTo(1);
        exiter.join();
        assertThat(pool.counts().idle()).isZero();
    }

    @Test
    void anInvocationThatCapturesItsLogGetsStartItsInstancesLinesEndAndReportInThatOrder() throws Exception {
        FunctionPool pool = pool(2, 30_000, 10);
        Invocation inv = pool.submit(new Invocation("req-1", "{}".getBytes(StandardCharsets.UTF_8), true, true));
        assertThat(inv.version()).isEqualTo(3);
        assertThat(inv.timeoutMs()).isEqualTo(30_000);
        FakeInstance i = starter.started.get(0);
        pool.ready(i);
        inv.logLine("hello from the handler");
        pool.completed(i, "req-1", "1".getBytes(StandardCharsets.UTF_8));
        assertThat(inv.awaitLogCapture(Duration.ZERO)).as("the fake instance's output is read at once").isTrue();
        String tail = new String(inv.logTail(4096), StandardCharsets.UTF_8);
        assertThat(tail.lines().toList()).satisfiesExactly(
                l -> assertThat(l).isEqualTo("START RequestId: req-1 Version: 3"),
                l -> assertThat(l).isEqualTo("hello from the handler"),
                l -> assertThat(l).isEqualTo("END RequestId: req-1"),
                l -> assertThat(l).startsWith("REPORT RequestId: req-1\tDuration: "));
        assertThat(recorder.lines).containsSubsequence("START RequestId: req-1 Version: 3", "END RequestId: req-1");
    }

    @Test
    void aLogTailKeepsTheLastBytesAndNeverCutsACharacter() {
        Invocation inv = new Invocation("r", new byte[0], false, true);
        for (int i = 0; i < 2000; i++) {
            inv.logLine("line " + i + " é");
        }
        byte[] tail = inv.logTail(4096);
        assertThat(tail.length).isLessThanOrEqualTo(4096).isGreaterThan(4090);
        String text = new String(tail, StandardCharsets.UTF_8);
        assertThat(text).endsWith("line 1999 é\n").doesNotContain("\uFFFD");
        assertThat(new Invocation("r", new byte[0], false, false).capturesLog()).isFalse();
    }

    @Test
    void aTimeoutAndAFunctionErrorCloseTheCapturedLogToo() throws Exception {
        FunctionPool pool = pool(2, 1_000, 10);
        Invocation slow = pool.submit(new Invocation("slow", new byte[0], false, true));
        FakeInstance i = starter.started.get(0);
        pool.ready(i);
        time.advance(Duration.ofMillis(1_000));
        assertThat(slow.result()).isCompletedExceptionally();
        assertThat(new String(slow.logTail(4096), StandardCharsets.UTF_8))
                .contains("TIMEOUT RequestId: slow after 1000 ms\nEND RequestId: slow\nREPORT RequestId: slow");

        Invocation failing = pool.submit(new Invocation("bad", new byte[0], false, true));
        FakeInstance j = starter.started.get(1);
        pool.ready(j);
        pool.failed(j, "bad", "java.lang.IllegalStateException", "no", List.of("at X"));
        assertThat(new String(failing.logTail(4096), StandardCharsets.UTF_8))
                .contains("ERROR RequestId: bad java.lang.IllegalStateException: no\nEND RequestId: bad\nREPORT");
        assertThatThrownBy(() -> failing.result().get()).cause().isInstanceOfSatisfying(FunctionErrorException.class, e -> {
            assertThat(e.functionErrorMessage()).isEqualTo("no");
            assertThat(e.getMessage()).isEqualTo("function 'fn' failed: java.lang.IllegalStateException: no");
        });
    }

    @Test
    void anInvocationThatWasNeverHandedOverHasNoLogToWaitFor() throws Exception {
        FunctionPool pool = pool(1, 30_000, 10);
        Invocation inv = pool.submit(new Invocation("q", new byte[0], false, true));
        inv.fail(new ThawException(ErrorType.ServiceUnavailable, "gone"));
        assertThat(inv.awaitLogCapture(Duration.ZERO)).isTrue();
        assertThat(inv.logTail(4096)).isEmpty();
    }

    @Test
    void takeQueuedMovesOnlyTheMatchingWaitingInvocations() {
        FunctionPool pool = pool(1, 30_000, 10);
        Invocation running = pool.submit(new Invocation("a", new byte[0], true, false));
        pool.ready(starter.started.get(0));
        Invocation latest = pool.submit(new Invocation("b", new byte[0], true, false));
        Invocation pinned = pool.submit(new Invocation("c", new byte[0], false, false));
        assertThat(pool.takeQueued(Invocation::followsLatest)).containsExactly(latest);
        assertThat(pool.counts().queued()).isEqualTo(1);
        assertThat(running.isDone()).isFalse();
        assertThat(pinned.isDone()).isFalse();
    }

    @Test
    void failRunningAnswersWhatInstancesRunAndIgnoresTheirLateAnswers() {
        FunctionPool pool = pool(1, 30_000, 10);
        Invocation inv = pool.submit(invocation("{}"));
        FakeInstance i = starter.started.get(0);
        pool.ready(i);
        pool.failRunning(new ThawException(ErrorType.ServiceUnavailable, "the node shut down"));
        assertThatThrownBy(() -> inv.result().get()).cause().hasMessage("the node shut down");
        assertThat(pool.completed(i, inv.requestId(), "1".getBytes(StandardCharsets.UTF_8))).isFalse();
    }

    @Test
    void awaitDrainedWaitsForRunningAndQueuedInvocationsUntilItsDeadline() throws Exception {
        FunctionPool pool = pool(1, 30_000, 10);
        assertThat(pool.awaitDrained(time.nanos())).isTrue();
        Invocation inv = pool.submit(invocation("{}"));
        assertThat(pool.awaitDrained(time.nanos())).as("queued, deadline passed").isFalse();
        FakeInstance i = starter.started.get(0);
        pool.ready(i);
        assertThat(pool.awaitDrained(time.nanos())).as("running").isFalse();
        pool.completed(i, inv.requestId(), "1".getBytes(StandardCharsets.UTF_8));
        assertThat(pool.awaitDrained(time.nanos())).isTrue();
    }

    @Test
    void aCloneRestoredAheadAndReadyBeforeTheInvocationAnswersItAsPrewarmed() throws Exception {
        starter.kind = StartKind.RESTORE;
        FunctionPool pool = pool(4, 30_000, 10);
        assertThat(pool.startAhead(2, true)).isEqualTo(2);
        FakeInstance a = starter.started.get(0);
        FakeInstance b = starter.started.get(1);
        time.advance(Duration.ofMillis(80));
        pool.ready(a);
        assertThat(pool.ahead().cloneWaits()).hasSize(2);
        assertThat(pool.ahead().ready()).as("a ready clone is no capacity of the autoscaler's").isZero();
        time.advance(Duration.ofMillis(500));
        Invocation inv = pool.submit(invocation("{}"));
        assertThat(a.last()).isSameAs(inv);
        pool.completed(a, inv.requestId(), "1".getBytes(StandardCharsets.UTF_8));
        assertThat(inv.result().get().start()).isEqualTo(StartKind.PREWARMED);
        assertThat(inv.result().get().prewarmedAgeMs()).hasValue(500.0);
        assertThat(pool.ahead().ready()).as("once it served, an instance like any").isEqualTo(1);
        assertThat(recorder.lines).anyMatch(l -> l.contains("Start: prewarmed") && l.contains("Prewarmed: 500 ms before"));
        // an invocation that came before its clone was ready waited for the restore: a restore, not prewarmed
        Invocation early = pool.submit(invocation("{}"));
        Invocation waiting = pool.submit(invocation("{}"));
        assertThat(early.isDone()).isFalse();
        time.advance(Duration.ofMillis(10));
        pool.ready(b);
        pool.completed(b, b.last().requestId(), "2".getBytes(StandardCharsets.UTF_8));
        assertThat(b.last().result().get().start()).isEqualTo(StartKind.RESTORE);
        assertThat(waiting.isDone() || early.isDone()).isTrue();
    }

    @Test
    void onlyPreRestoredClonesAreStartedAsClonesNotScaleUpsNorInstancesAnInvocationWaitsFor() {
        starter.kind = StartKind.RESTORE;
        FunctionPool pool = pool(8, 30_000, 10);
        pool.submit(invocation("{}"));
        pool.startAhead(2, false);
        pool.startAhead(1, true);
        assertThat(starter.clones).as("on demand, two scale-ups, one clone").containsExactly(false, false, false, true);
    }

    @Test
    void clonesStartOnlyWhenTheStarterRestoresAheadAndNeverBeyondTheMaximum() {
        FunctionPool pool = pool(3, 30_000, 10);
        starter.restoresAhead = false;
        assertThat(pool.startAhead(2, true)).isZero();
        starter.restoresAhead = true;
        assertThat(pool.startAhead(5, true)).isEqualTo(3);
        assertThat(starter.started).hasSize(3);
    }

    @Test
    void retireStopsClonesBeyondTheTargetAndInstancesIdleLongerThanTheWindow() throws Exception {
        starter.kind = StartKind.RESTORE;
        FunctionPool pool = pool(8, 30_000, 10);
        Invocation inv = pool.submit(invocation("{}"));
        FakeInstance served = starter.started.get(0);
        pool.ready(served);
        pool.completed(served, inv.requestId(), "1".getBytes(StandardCharsets.UTF_8));
        pool.startAhead(3, true);
        starter.started.subList(1, 4).forEach(pool::ready);
        assertThat(pool.retire(0, 1, Duration.ofSeconds(60), Duration.ofMinutes(5))).as("two clones beyond one").isEqualTo(2);
        time.advance(Duration.ofSeconds(61));
        assertThat(pool.retire(0, 1, Duration.ofSeconds(60), Duration.ofMinutes(5))).as("the idle instance").isEqualTo(1);
        assertThat(served.stopped).isTrue();
        time.advance(Duration.ofMinutes(5));
        assertThat(pool.retire(0, 1, Duration.ofSeconds(60), Duration.ofMinutes(5))).as("the clone that waited too long")
                .isEqualTo(1);
    }

    /** @return a pre-restored clone the pool started, now ready */
    private FakeInstance readyClone(FunctionPool pool) {
        pool.startAhead(1, true);
        FakeInstance clone = starter.started.getLast();
        pool.ready(clone);
        return clone;
    }

    @Test
    void aFreshenCallRunsOnAnIdleCloneIsReportedApartAndLeavesItAPrewarmedClone() throws Exception {
        starter.kind = StartKind.RESTORE;
        FunctionPool pool = pool(4, 30_000, 10);
        FakeInstance c = readyClone(pool);
        Invocation f = Invocation.freshen("follows a");
        assertThat(pool.freshen(f, Duration.ofSeconds(1))).isTrue();
        assertThat(c.last()).isSameAs(f);
        time.advance(Duration.ofMillis(40));
        pool.completed(c, f.requestId(), new byte[0]);
        assertThat(recorder.lines).anyMatch(l -> l.startsWith("FRESHEN RequestId: " + f.requestId())
                && l.contains("Reason: follows a"));
        assertThat(recorder.codes).as("not an invocation").isEmpty();
        Invocation inv = pool.submit(invocation("{}"));
        pool.completed(c, inv.requestId(), "1".getBytes(StandardCharsets.UTF_8));
        assertThat(inv.result().get().start()).isEqualTo(StartKind.PREWARMED);
    }

    @Test
    void anInvocationThatArrivesDuringAFreshenWaitsForThatCloneRatherThanRestoringAnother() throws Exception {
        starter.kind = StartKind.RESTORE;
        FunctionPool pool = pool(4, 30_000, 10);
        FakeInstance c = readyClone(pool);
        Invocation f = Invocation.freshen("follows a");
        pool.freshen(f, Duration.ofSeconds(1));
        time.advance(Duration.ofMillis(10));
        Invocation inv = pool.submit(invocation("{}"));
        assertThat(starter.started).as("no restore beside the clone being prepared").hasSize(1);
        pool.completed(c, f.requestId(), new byte[0]);
        assertThat(c.last()).isSameAs(inv);
        pool.completed(c, inv.requestId(), "1".getBytes(StandardCharsets.UTF_8));
        assertThat(inv.result().get().start()).isEqualTo(StartKind.PREWARMED);
    }

    @Test
    void evictStopsAPreRestoredCloneRunningAFreshen() throws Exception {
        starter.kind = StartKind.RESTORE;
        FunctionPool pool = pool(4, 30_000, 10);
        FakeInstance freshening = readyClone(pool);
        pool.freshen(Invocation.freshen("predicted"), Duration.ofSeconds(1));
        Thread exiter = Thread.ofVirtual().start(() -> {
            while (!freshening.stopped) { // it exits once evict has stopped it, however long the machine takes
                Thread.onSpinWait();
            }
            pool.exited(freshening, new Exit("was stopped", true, java.util.Optional.empty(), false));
        });
        assertThat(pool.evictIdle()).isEqualTo(1);
        exiter.join();
        assertThat(freshening.stopped).isTrue();
        assertThat(pool.ahead().cloneWaits()).isEmpty();
    }

    @Test
    void aFreshenCallThatDoesNotAnswerStopsItsInstanceAndNeverTakesAnInvocationsPlace() {
        FunctionPool pool = pool(4, 30_000, 10);
        Invocation first = pool.submit(invocation("{}"));
        FakeInstance i = starter.started.get(0);
        pool.ready(i);
        pool.completed(i, first.requestId(), "1".getBytes(StandardCharsets.UTF_8));
        Invocation f = Invocation.freshen("predicted");
        pool.freshen(f, Duration.ofMillis(500));
        time.advance(Duration.ofMillis(1_600));
        assertThat(i.stopped).isTrue();
        assertThat(recorder.lines).anyMatch(l -> l.startsWith("FRESHEN_TIMEOUT"));
        pool.exited(i, new Exit("was stopped", true, java.util.Optional.empty(), false));
        assertThat(pool.counts().queued()).as("the freshen call is not retried as an invocation").isZero();
    }
}
