package dev.thaw.node.pool;

import dev.thaw.core.ErrorType;
import dev.thaw.core.FunctionErrorException;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.StartKind;
import dev.thaw.core.ThawException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/*
 * The instances of one deployed function and the policy that schedules invocations onto them.
 *
 * Lambda's model: an instance serves one invocation at a time. An invocation goes to an idle
 * instance if there is one; otherwise it waits in a bounded queue while the pool starts instances,
 * up to the function's maxInstances. Instances live on idle for the keep-alive period and are then
 * retired, down to zero.
 *
 * How an instance starts is the starter's business (restore a clone, boot and checkpoint, boot);
 * the pool only asks it whether a start may begin now: while the function's first boot is being
 * checkpointed, further cold starts wait for its snapshot rather than boot too. When an instance
 * exits, the starter says what it means (Exit): the invocation it held crashed, or goes back to the
 * queue; an instance that never became ready fails the oldest waiting invocation with its start
 * error, or is simply replaced by the next start.
 *
 * The pool keeps every instance's scheduling state itself (starting, idle, busy, which invocation
 * it holds), under one lock; instances only move bytes and report back through InstanceEvents.
 * Time comes from an injected Ticker and timers from an injected Scheduler, so the whole policy is
 * unit-tested with a fake clock and fake instances (FunctionPoolTest).
 */
/** Schedules a function's invocations onto its instances (see the comment above). */
public final class FunctionPool implements InstanceEvents {
    private static final Duration STOP_WAIT = Duration.ofSeconds(5);

    /**
     * What a pool is configured with.
     *
     * @param function the function's name
     * @param version the deployed version
     * @param maxInstances at most this many instances at once
     * @param timeoutMs an invocation's time limit
     * @param memoryMb the function's memory size (reported, and limited by the sandbox)
     * @param queueLimit invocations that may wait when every instance is busy
     * @param maxStarting at most this many instances starting at once for invocations that wait (0: no
     *     bound): a restore is CPU work, and N restores at once on fewer cores all end late, while the
     *     first ones up serve most of a burst warm when they come one or two at a time
     */
    public record Settings(String function, long version, int maxInstances, int timeoutMs, int memoryMb, int queueLimit,
                           int maxStarting) {
        /** Settings without a bound on concurrent starts. */
        public Settings(String function, long version, int maxInstances, int timeoutMs, int memoryMb, int queueLimit) {
            this(function, version, maxInstances, timeoutMs, memoryMb, queueLimit, 0);
        }

        public Settings {
            if (maxStarting < 0) {
                throw new IllegalArgumentException("maxStarting must be >= 0, got " + maxStarting);
            }
            if (maxInstances < 1) {
                throw new IllegalArgumentException("maxInstances must be >= 1, got " + maxInstances);
            }
            if (timeoutMs < 1) {
                throw new IllegalArgumentException("timeoutMs must be >= 1, got " + timeoutMs);
            }
            if (queueLimit < 0) {
                throw new IllegalArgumentException("queueLimit must be >= 0, got " + queueLimit);
            }
        }
    }

    private enum State { STARTING, IDLE, BUSY }

    /** The pool's record of one instance. Guarded by the pool's lock. */
    private static final class Member {
        final PoolInstance instance;
        final long startedNanos;
        final CompletableFuture<Void> gone = new CompletableFuture<>();
        State state = State.STARTING;
        long readyNanos;
        long idleSinceNanos;
        Invocation current;
        Scheduler.Cancellable timeout;
        int served;
        /** Started ahead of demand (a pre-restored clone, or an autoscaler's scale-up), not for a waiting invocation. */
        boolean ahead;
        /** A pre-restored clone (prewarm, prediction) rather than an autoscaler's instance. */
        boolean clone;
        /** The boot a deploy started to take the snapshot (see snapshotAhead). */
        boolean snapshotBoot;
        /** Stopped by a scale-down, its exit not reported yet: not counted, not stopped again. */
        boolean retiring;
        /** Its freshen hook ran since its last invocation: the next invocation goes here first. */
        boolean freshened;
        /** Out of rotation (busy with no invocation) until given back: see lend(). */
        boolean lent;
        /** To be lent as its invocation ends, and told so: see lend(). */
        java.util.function.Consumer<PoolInstance> lendTo;

        Member(PoolInstance instance, long startedNanos) {
            this.instance = instance;
            this.startedNanos = startedNanos;
        }

        double coldStartMs() {
            return (readyNanos - startedNanos) / 1e6;
        }

        /**
         * @return how long {@code inv} waited for this instance's start: all of it, or for the boot a
         *     deploy started ahead of demand, the part after {@code inv} arrived
         */
        double coldStartMs(Invocation inv) {
            return snapshotBoot ? (readyNanos - Math.max(startedNanos, inv.acceptedNanos())) / 1e6 : coldStartMs();
        }
    }

    private final Settings settings;
    private final InstanceStarter starter;
    private final Ticker ticker;
    private final Scheduler scheduler;
    private final PoolObserver observer;
    private final Map<PoolInstance, Member> members = new LinkedHashMap<>();
    private final Deque<Invocation> queue = new ArrayDeque<>();
    private boolean closed;

    public FunctionPool(Settings settings, InstanceStarter starter, Ticker ticker, Scheduler scheduler, PoolObserver observer) {
        this.settings = settings;
        this.starter = starter;
        this.ticker = ticker;
        this.scheduler = scheduler;
        this.observer = observer;
    }

    public Settings settings() {
        return settings;
    }

    // ---- invocations ---------------------------------------------------------------------------

    /**
     * Accepts an invocation; its future completes when it has been served or has failed.
     *
     * @throws ThawException {@link ErrorType#ServiceUnavailable} when the pool was closed (the function
     *     was redeployed or deleted), {@link ErrorType#TooManyRequests} when the queue is full
     */
    public synchronized Invocation submit(Invocation inv) {
        if (closed) {
            throw new ThawException(ErrorType.ServiceUnavailable,
                    "function '" + settings.function() + "' was just redeployed or deleted; retry");
        }
        if (queue.size() >= settings.queueLimit() && idle().isEmpty()) {
            throw new ThawException(ErrorType.TooManyRequests, "function '" + settings.function() + "' has all "
                    + settings.maxInstances() + " instances busy and " + queue.size()
                    + " invocations queued (the limit); retry later or raise maxInstances");
        }
        inv.accepted(settings.version(), settings.timeoutMs(), ticker.nanos());
        queue.addLast(inv);
        rebalance();
        return inv;
    }

    /**
     * Takes the waiting invocations that match out of the queue, for the caller to submit elsewhere
     * (a redeploy moves those that follow the latest version to the new one).
     *
     * @return them, oldest first
     */
    public synchronized List<Invocation> takeQueued(java.util.function.Predicate<Invocation> which) {
        List<Invocation> taken = new ArrayList<>();
        queue.removeIf(inv -> {
            if (!inv.isDone() && which.test(inv)) {
                taken.add(inv);
                return true;
            }
            return false;
        });
        observer.counts(counts());
        return taken;
    }

    @Override
    public boolean completed(PoolInstance instance, String requestId, byte[] body) {
        Member m;
        Invocation inv;
        boolean first;
        synchronized (this) {
            m = members.get(instance);
            inv = holding(m, requestId);
            if (inv == null) {
                return false;
            }
            first = m.served == 1;
            m.current = null; // claimed: a timeout firing now finds nothing to time out
            m.timeout.cancel();
        }
        double durationMs = (ticker.nanos() - inv.startedNanos()) / 1e6;
        if (inv.isFreshen()) {
            freshenEnded(m, inv, durationMs, null);
            return true;
        }
        if (first) {
            instance.firstInvocationAnswered();
        }
        OptionalLong peak = instance.memoryPeakBytes();
        end(inv, instance);
        report(inv, durationMs, "200", peak);
        // Idle before the caller hears back: a client that evicts or invokes right after its answer
        // must find this instance idle, not still busy.
        release(m);
        inv.result().complete(new InvocationResult(inv.requestId(), body, inv.start(), optional(inv.coldStartMs()),
                optional(inv.checkpointMs()), durationMs, settings.version(), inv.startReport(), peak,
                optional(inv.prewarmedAgeMs())));
        return true;
    }

    @Override
    public boolean failed(PoolInstance instance, String requestId, String errorType, String message, List<String> stack) {
        Member m;
        Invocation inv;
        boolean first;
        synchronized (this) {
            m = members.get(instance);
            inv = holding(m, requestId);
            if (inv == null) {
                return false;
            }
            first = m.served == 1;
            m.current = null;
            m.timeout.cancel();
        }
        double durationMs = (ticker.nanos() - inv.startedNanos()) / 1e6;
        if (inv.isFreshen()) {
            freshenEnded(m, inv, durationMs, errorType + ": " + message);
            return true;
        }
        if (first) {
            instance.firstInvocationAnswered();
        }
        closing(inv, "ERROR RequestId: " + inv.requestId() + " " + errorType + ": " + message);
        end(inv, instance);
        report(inv, durationMs, "502", instance.memoryPeakBytes());
        release(m);
        inv.fail(new FunctionErrorException(ErrorType.FunctionError, errorType,
                "function '" + settings.function() + "' failed: " + errorType + ": " + message, message, stack));
        return true;
    }

    /** @return the invocation the member holds if it has this request id and is not answered yet */
    private static Invocation holding(Member m, String requestId) {
        if (m == null || m.current == null || m.current.isDone() || !m.current.requestId().equals(requestId)) {
            return null;
        }
        return m.current;
    }

    private void release(Member m) {
        java.util.function.Consumer<PoolInstance> lendTo;
        synchronized (this) {
            if (!members.containsKey(m.instance)) {
                return; // exited meanwhile
            }
            if (closed) {
                m.instance.stop();
                return;
            }
            lendTo = m.lendTo;
            m.lendTo = null;
            if (lendTo != null) {
                m.lent = true; // still busy, now with no invocation: see lend()
            } else {
                m.state = State.IDLE;
                m.idleSinceNanos = ticker.nanos();
                rebalance();
            }
        }
        if (lendTo != null) {
            lendTo.accept(m.instance);
        }
    }

    private void report(Invocation inv, double durationMs, String code, OptionalLong peakBytes) {
        StringBuilder line = new StringBuilder()
                .append("REPORT RequestId: ").append(inv.requestId())
                .append("\tDuration: ").append(String.format(Locale.ROOT, "%.2f ms", durationMs))
                .append("\tBilled Duration: ").append((long) Math.ceil(durationMs)).append(" ms")
                .append("\tMemory Size: ").append(settings.memoryMb()).append(" MB");
        peakBytes.ifPresent(b -> line.append("\tMax Memory Used: ").append((b + (1 << 20) - 1) >> 20).append(" MB"));
        line.append("\tStart: ").append(inv.start().wireName());
        if (inv.start() == StartKind.BOOT) {
            line.append("\tInit Duration: ").append(String.format(Locale.ROOT, "%.2f ms", inv.coldStartMs()));
            if (!Double.isNaN(inv.checkpointMs())) {
                line.append("\tCheckpoint Duration: ").append(String.format(Locale.ROOT, "%.2f ms", inv.checkpointMs()));
            }
        } else if (inv.start() == StartKind.RESTORE || inv.start() == StartKind.PREWARMED) {
            line.append("\tRestore Duration: ").append(String.format(Locale.ROOT, "%.2f ms", inv.coldStartMs()));
            if (inv.start() == StartKind.PREWARMED) {
                line.append("\tPrewarmed: ").append(String.format(Locale.ROOT, "%.0f ms before", inv.prewarmedAgeMs()));
            }
            if (inv.startReport() != null) {
                line.append('\t').append(inv.startReport().reportFields());
            }
        }
        if (!inv.transfers().isEmpty()) {
            line.append('\t').append(inv.transfers().reportFields());
        }
        closing(inv, line.toString());
        observer.invocation(code, inv.start(), durationMs / 1000);
    }

    /**
     * Closes the invocation's log: its {@code END} line, and the instance is told that every line it
     * printed for the invocation has been written (its log capture ends once they are read).
     */
    private void end(Invocation inv, PoolInstance instance) {
        closing(inv, "END RequestId: " + inv.requestId());
        instance.endLogCapture(inv);
    }

    /** A line of the function's log that also closes the invocation's own. */
    private void closing(Invocation inv, String line) {
        observer.log(line);
        inv.logClosing(line);
    }

    // ---- scheduling ----------------------------------------------------------------------------

    private synchronized void rebalance() {
        if (closed) {
            return;
        }
        queue.removeIf(Invocation::isDone);
        // an instance whose freshen hook just prepared it takes the next invocation: that is what it was for
        List<Member> idleFirst = members.values().stream().filter(m -> m.state == State.IDLE && !m.retiring)
                .sorted(java.util.Comparator.comparing(m -> m.freshened ? 0 : 1)).toList();
        for (Member m : idleFirst) {
            if (queue.isEmpty()) {
                break;
            }
            Invocation next = queue.pollFirst();
            if (!next.isFreshen()) {
                m.freshened = false;
            }
            assign(m, next);
        }
        // An instance running a freshen hook counts as one coming: it is being prepared for the
        // invocation that is now here, and is free within the hook's time cap. A restore beside it
        // would answer sooner only to answer unprepared.
        long starting = startingNow();
        long coming = starting + members.values().stream().filter(FunctionPool::freshening).count();
        long needed = queue.size() - coming;
        // paced: more start as the first ones come up, if invocations still wait for them then
        while (needed > 0 && members.size() < settings.maxInstances() && starter.mayStart()
                && belowStartBound(starting)) {
            startInstance();
            needed--;
            starting++;
        }
        observer.counts(counts());
    }

    private PoolInstance startInstance() {
        return startInstance(false);
    }

    private PoolInstance startInstance(boolean clone) {
        long now = ticker.nanos();
        PoolInstance instance = starter.start(this, clone);
        members.put(instance, new Member(instance, now));
        Exit early = earlyExits.remove(instance);
        if (early != null) {
            exited(instance, early); // it could not be started at all: handled as any exit
        }
        return instance;
    }

    /** Whether starts ahead of demand were held back by the bound on concurrent starts. Guarded by this. */
    private boolean aheadHeldBack;
    private volatile Runnable startRoom;

    /** Exits reported before {@link InstanceStarter#start} returned their instance. Guarded by this. */
    private final Map<PoolInstance, Exit> earlyExits = new java.util.HashMap<>();

    private void assign(Member m, Invocation inv) {
        if (inv.isFreshen()) {
            assignFreshen(m, inv);
            return;
        }
        m.served++;
        m.state = State.BUSY;
        m.current = inv;
        boolean first = m.served == 1;
        int timeout = settings.timeoutMs();
        // a clone started ahead of demand and ready before the invocation came: it waited for nothing
        boolean prewarmed = first && m.ahead && m.readyNanos > 0 && m.readyNanos < inv.acceptedNanos()
                && m.instance.kind() == StartKind.RESTORE;
        if (prewarmed) {
            inv.prewarmed((ticker.nanos() - m.readyNanos) / 1e6);
        }
        // Everything the runtime reads about the invocation is set before the instance can take it:
        // its `next` returns the moment the invocation is handed over, on another thread.
        inv.assigned(ticker.epochMillis() + timeout, prewarmed ? StartKind.PREWARMED : first ? m.instance.kind()
                        : StartKind.WARM,
                first ? m.coldStartMs(inv) : Double.NaN, first ? m.instance.checkpointMs() : Double.NaN,
                first ? m.instance.startReport() : null);
        String start = "START RequestId: " + inv.requestId() + " Version: " + settings.version();
        observer.log(start);
        inv.logOpening(start);
        m.timeout = scheduler.schedule(() -> timeOut(m, inv), Duration.ofMillis(timeout));
        m.instance.resetMemoryPeak();
        m.instance.hand(inv);
    }

    private void timeOut(Member m, Invocation inv) {
        synchronized (this) {
            if (m.current != inv || inv.isDone()) {
                return;
            }
            m.current = null;
        }
        if (inv.isFreshen()) {
            // the runtime cuts its hook off at the deadline itself; one that did not answer by now is stuck
            observer.log("FRESHEN_TIMEOUT RequestId: " + inv.requestId() + " the instance did not answer within "
                    + inv.timeoutMs() + " ms and was stopped");
            observer.freshened(false, inv.timeoutMs() / 1000.0);
            inv.fail(new ThawException(ErrorType.FunctionTimeout, "freshen timed out"));
            m.instance.stop();
            return;
        }
        int timeout = settings.timeoutMs();
        closing(inv, "TIMEOUT RequestId: " + inv.requestId() + " after " + timeout + " ms");
        end(inv, m.instance);
        report(inv, timeout, "504", m.instance.memoryPeakBytes());
        inv.fail(new ThawException(ErrorType.FunctionTimeout, "function '" + settings.function()
                + "' timed out after " + timeout + " ms; its instance was stopped"));
        m.instance.stop();
    }

    private Optional<Member> idle() {
        return members.values().stream().filter(m -> m.state == State.IDLE).findFirst();
    }

    // ---- ahead of demand -----------------------------------------------------------------------

    /**
     * What the scaling policies decide from: the instances (clones that have not served yet apart)
     * and how long each of those clones has waited ready.
     *
     * @param instances starting, idle or busy instances, clones not included
     * @param idleInstances those of them idle
     * @param inFlight invocations running or waiting
     * @param ready instances that are up (idle or busy), clones not included: they are the prewarm
     *     policy's, and counted as the autoscaler's capacity they held its scale-down up
     * @param cloneWaits how long each pre-restored clone has waited ready, oldest first; those still
     *     being restored count as 0
     */
    public record Ahead(int instances, int idleInstances, int inFlight, int ready, List<Duration> cloneWaits) {
    }

    /** @return the pool as the scaling policies see it */
    public synchronized Ahead ahead() {
        int instances = 0;
        int idle = 0;
        int ready = 0;
        List<Duration> waits = new ArrayList<>();
        long now = ticker.nanos();
        for (Member m : members.values()) {
            if (isClone(m)) {
                // not ready capacity to the autoscaler: counted there, the idle clones of a --prewarm 16 made
                // it keep 8 instances ("scale-down limited to 1/2 of the 17 ready"), and the prewarm plan
                // then promoted and retired clones below their target
                waits.add(m.readyNanos == 0 ? Duration.ZERO : Duration.ofNanos(now - m.readyNanos));
                continue;
            }
            if (m.state != State.STARTING) {
                ready++;
            }
            instances++;
            if (m.state == State.IDLE) {
                idle++;
            }
        }
        return new Ahead(instances, idle, inFlight(), ready, waits);
    }

    /** Whether invocations wait in the queue: a boot's warm-up before its checkpoint ends then. */
    @Override
    public synchronized boolean awaited() {
        return queue.stream().anyMatch(inv -> !inv.isDone() && !inv.isFreshen());
    }

    /**
     * Boots the instance that takes the function's snapshot now, ahead of its first invocation (a
     * deploy), as Lambda's SnapStart does when a version is published: the first invocation then
     * finds the snapshot ready, or this boot under way. Its warm-up runs long while no one waits
     * (RuntimeApi), so every clone starts from a compiled invocation path. Once up, it serves the
     * invocations that waited for it, or stops when none did: a deploy leaves no instance running.
     *
     * @return whether it started (not when the pool has an instance, or a boot would take no snapshot)
     */
    public synchronized boolean snapshotAhead() {
        if (closed || !members.isEmpty() || !starter.snapshotsAhead()) {
            return false;
        }
        PoolInstance instance = startInstance();
        Member m = members.get(instance);
        if (m != null) {
            m.snapshotBoot = true;
        }
        observer.counts(counts());
        return true;
    }

    /** @return invocations running or waiting (freshen calls not counted): the concurrency the autoscaler samples */
    public synchronized int inFlight() {
        long busy = members.values().stream().filter(m -> m.state == State.BUSY && m.current != null
                && !m.current.isFreshen()).count();
        return (int) busy + queue.size();
    }

    /** A pre-restored clone that has not served an invocation yet (freshen calls do not count). */
    private static boolean isClone(Member m) {
        return m.clone && m.served == 0 && (m.state != State.BUSY || freshening(m));
    }

    /** Busy with a freshen call: to a user, idle. */
    private static boolean freshening(Member m) {
        return m.state == State.BUSY && m.current != null && m.current.isFreshen();
    }

    /**
     * Restores up to {@code n} instances ahead of demand (pre-restored clones, a scale-up): they wait
     * ready for invocations. Never beyond the function's maximum, and only once a snapshot is ready.
     *
     * @param clones whether they are pre-restored clones (kept to the prewarm target) rather than the
     *     autoscaler's instances
     * @return how many started
     */
    public synchronized int startAhead(int n, boolean clones) {
        int started = 0;
        long starting = startingNow();
        while (started < n && !closed && members.size() < settings.maxInstances() && starter.mayStart()
                && starter.restoresAhead()) {
            if (!belowStartBound(starting)) {
                aheadHeldBack = true; // paced: the rest when a start ends (onStartRoom)
                break;
            }
            // only clones rehearse: a scale-up's instance is awaited by the invocations that asked for it
            PoolInstance instance = startInstance(clones);
            Member m = members.get(instance);
            if (m != null) {
                m.ahead = true;
                m.clone = clones;
            }
            started++;
            starting++;
        }
        if (started > 0) {
            observer.counts(counts());
        }
        return started;
    }

    /**
     * @param listener told (outside the pool's lock) when a start ended while starts ahead of demand
     *     were held back by the bound on concurrent starts: the caller asks again then
     */
    public void onStartRoom(Runnable listener) {
        this.startRoom = listener;
    }

    /** @return whether one more instance may start while {@code starting} are (the bound on concurrent starts) */
    private boolean belowStartBound(long starting) {
        return settings.maxStarting() == 0 || starting < settings.maxStarting();
    }

    private long startingNow() {
        return members.values().stream().filter(m -> m.state == State.STARTING).count();
    }

    /** Tells the listener of held-back starts, once per hold-back, when a start has ended. */
    private void startEnded() {
        Runnable listener;
        synchronized (this) {
            if (!aheadHeldBack || closed) {
                return;
            }
            aheadHeldBack = false;
            listener = startRoom;
        }
        if (listener != null) {
            listener.run();
        }
    }

    /**
     * Scales down: stops idle instances beyond {@code keepInstances} that have been idle for
     * {@code idleFor} (those idle longest first), pre-restored clones beyond {@code keepClones} (the
     * oldest first), and clones that have waited longer than {@code maxCloneWait}.
     *
     * @return how many were stopped
     */
    public int retire(int keepInstances, int keepClones, Duration idleFor, Duration maxCloneWait) {
        List<PoolInstance> stop = new ArrayList<>();
        synchronized (this) {
            long now = ticker.nanos();
            List<Member> byIdleSince = members.values().stream().filter(m -> m.state == State.IDLE && !m.retiring)
                    .sorted(java.util.Comparator.comparingLong(m -> m.idleSinceNanos)).toList();
            int instances = (int) members.values().stream().filter(m -> !m.retiring && !isClone(m)).count();
            int clones = (int) members.values().stream().filter(m -> !m.retiring && isClone(m)).count();
            for (Member m : byIdleSince) {
                if (isClone(m)) {
                    boolean stale = m.readyNanos > 0 && now - m.readyNanos > maxCloneWait.toNanos();
                    if (clones > keepClones || stale) {
                        m.retiring = true;
                        stop.add(m.instance);
                        clones--;
                    }
                } else if (instances > keepInstances && now - m.idleSinceNanos >= idleFor.toNanos()) {
                    m.retiring = true;
                    stop.add(m.instance);
                    instances--;
                }
            }
        }
        stop.forEach(PoolInstance::stop);
        return stop.size();
    }

    /**
     * Hands a freshen call to an idle instance (a pre-restored clone first), if one is idle now: the
     * hook runs where the predicted invocation will. Its time is capped by its own timeout.
     *
     * @return whether an instance took it
     */
    public synchronized boolean freshen(Invocation f, Duration limit) {
        if (closed || !f.isFreshen()) {
            return false;
        }
        Optional<Member> target = members.values().stream().filter(m -> m.state == State.IDLE && !m.retiring)
                .min(java.util.Comparator.comparing(m -> isClone(m) ? 0 : 1));
        if (target.isEmpty()) {
            return false;
        }
        f.accepted(settings.version(), (int) Math.max(1, limit.toMillis()), ticker.nanos());
        assign(target.get(), f);
        observer.counts(counts());
        return true;
    }

    /**
     * Lends an instance out of rotation (for a snapshot of it): one that has served at least
     * {@code minServed} invocations and that {@code eligible} accepts, the one that served most. An
     * idle one is lent at once; else one busy with an invocation is lent as that invocation ends,
     * before it takes another (an instance under steady load is seldom idle when asked). A lent
     * instance counts as busy, with no invocation, until {@link #giveBack}; a scale-down or an
     * eviction leaves it alone meanwhile, and its exit is an exit like any other (then {@code lent}
     * never hears of it, if it had not yet).
     *
     * @param later told the instance once it is lent, when it was busy (outside the pool's lock)
     * @return the instance lent now, or to be lent as its invocation ends; empty when none qualifies
     */
    public synchronized Optional<Loan> lend(int minServed, java.util.function.Predicate<PoolInstance> eligible,
                                            java.util.function.Consumer<PoolInstance> later) {
        if (closed) {
            return Optional.empty();
        }
        java.util.function.Predicate<Member> qualifies = lendable(minServed, eligible);
        Optional<Member> idle = mostServed(qualifies.and(m -> m.state == State.IDLE));
        if (idle.isEmpty()) {
            Optional<Member> busy = mostServed(qualifies.and(FunctionPool::lendableAsItsInvocationEnds));
            busy.ifPresent(m -> m.lendTo = later);
            return busy.map(m -> new Loan(m.instance, false));
        }
        Member now = idle.get();
        now.state = State.BUSY;
        now.lent = true;
        observer.counts(counts());
        return Optional.of(new Loan(now.instance, true));
    }

    /**
     * @return whether {@link #lend} would find an instance to lend, now or as its invocation ends,
     *     without lending it
     */
    public synchronized boolean couldLend(int minServed, java.util.function.Predicate<PoolInstance> eligible) {
        return !closed && members.values().stream().anyMatch(lendable(minServed, eligible)
                .and(m -> m.state == State.IDLE || lendableAsItsInvocationEnds(m)));
    }

    /** A busy instance is lent as its invocation ends; not one running a freshen hook (no invocation ends it). */
    private static boolean lendableAsItsInvocationEnds(Member m) {
        return m.state == State.BUSY && m.current != null && !m.current.isFreshen();
    }

    private static java.util.function.Predicate<Member> lendable(int minServed, java.util.function.Predicate<PoolInstance> eligible) {
        return m -> !m.retiring && !m.lent && m.lendTo == null && m.served >= minServed && eligible.test(m.instance);
    }

    private Optional<Member> mostServed(java.util.function.Predicate<Member> which) {
        return members.values().stream().filter(which).max(java.util.Comparator.comparingInt(m -> m.served));
    }

    /**
     * An instance {@link #lend} chose.
     *
     * @param now whether it is lent already (it was idle); else it will be as its invocation ends
     */
    public record Loan(PoolInstance instance, boolean now) {
    }

    /** An instance lent by {@link #lend} is back: idle again (stopped, when the pool closed meanwhile). */
    public void giveBack(PoolInstance instance) {
        Member m;
        synchronized (this) {
            m = members.get(instance);
            if (m == null || !m.lent) {
                return;
            }
            m.lent = false;
        }
        release(m);
    }

    /** @return how many invocations the instance has served here (0 when it is not this pool's) */
    public synchronized int served(PoolInstance instance) {
        Member m = members.get(instance);
        return m == null ? 0 : m.served;
    }

    private void assignFreshen(Member m, Invocation f) {
        m.state = State.BUSY;
        m.current = f;
        // the runtime cuts the hook off at the deadline; the node stops an instance that still has not
        // answered a second later
        f.assigned(ticker.epochMillis() + f.timeoutMs(), StartKind.WARM, Double.NaN, Double.NaN, null);
        m.timeout = scheduler.schedule(() -> timeOut(m, f), Duration.ofMillis(f.timeoutMs() + 1000L));
        m.instance.hand(f);
    }

    private void freshenEnded(Member m, Invocation f, double durationMs, String error) {
        observer.log((error == null ? "FRESHEN RequestId: " : "FRESHEN_FAILED RequestId: ") + f.requestId()
                + "\tFreshen Duration: " + String.format(Locale.ROOT, "%.2f ms", durationMs)
                + "\tReason: " + f.freshenReason().orElse("") + (error == null ? "" : "\tError: " + error));
        observer.freshened(error == null, durationMs / 1000);
        synchronized (this) {
            m.freshened = error == null;
        }
        m.instance.endLogCapture(f);
        release(m);
        if (error == null) {
            f.result().complete(new InvocationResult(f.requestId(), new byte[0], StartKind.WARM, OptionalDouble.empty(),
                    OptionalDouble.empty(), durationMs, settings.version(), null, OptionalLong.empty(), OptionalDouble.empty()));
        } else {
            f.fail(new ThawException(ErrorType.FunctionError, "freshen failed: " + error));
        }
    }

    // ---- instance events -----------------------------------------------------------------------

    @Override
    public void ready(PoolInstance instance) {
        double coldMs;
        synchronized (this) {
            Member m = members.get(instance);
            if (m == null || m.state != State.STARTING) {
                return;
            }
            m.readyNanos = ticker.nanos();
            m.state = State.IDLE;
            m.idleSinceNanos = m.readyNanos;
            coldMs = m.coldStartMs();
        }
        observer.coldStart(instance.kind(), coldMs / 1000);
        synchronized (this) {
            if (closed) {
                instance.stop();
                return;
            }
            rebalance();
            Member m = members.get(instance);
            if (m != null && m.snapshotBoot && m.state == State.IDLE && m.served == 0) {
                // it took the deploy's snapshot and no invocation waited for it: clones serve from here on
                m.retiring = true;
                instance.stop();
            }
        }
        startEnded();
    }

    @Override
    public void exited(PoolInstance instance, Exit exit) {
        Invocation crashed = null;
        Invocation failedStart = null;
        synchronized (this) {
            Member m = members.remove(instance);
            if (m == null) {
                earlyExits.put(instance, exit); // reported before start() returned it
                return;
            }
            if (m.timeout != null) {
                m.timeout.cancel();
            }
            Invocation inv = m.current;
            if (inv != null && inv.isFreshen()) {
                inv.fail(new ThawException(ErrorType.InstanceCrashed, "the instance " + exit.description()
                        + " during a freshen call"));
                observer.log("FRESHEN_FAILED RequestId: " + inv.requestId() + "\tError: the instance " + exit.description());
                inv = null;
            }
            if (inv != null && !inv.isDone() && exit.retryInvocation() && !closed) {
                queue.addFirst(inv); // retried by the start rebalance() makes
            } else if (inv != null && !inv.isDone()) {
                crashed = inv;
            } else if (m.readyNanos == 0 && !closed && exit.startError().isPresent()) {
                failedStart = queue.pollFirst();
            }
            m.gone.complete(null);
            rebalance();
        }
        if (crashed != null) {
            end(crashed, instance);
            report(crashed, (ticker.nanos() - crashed.startedNanos()) / 1e6, "502", instance.memoryPeakBytes());
            crashed.fail(new ThawException(exit.outOfMemory() ? ErrorType.OutOfMemory : ErrorType.InstanceCrashed,
                    "the instance of function '" + settings.function() + "' " + exit.description()
                            + " while running the invocation"));
        }
        if (failedStart != null && !failedStart.isDone()) {
            failedStart.fail(exit.startError().get());
        }
        startEnded();
    }

    @Override
    public synchronized void startsMayBegin() {
        rebalance();
    }

    // ---- lifecycle -----------------------------------------------------------------------------

    /** Stops idle instances that have been idle longer than {@code keepAlive}. */
    public void retireIdle(Duration keepAlive) {
        long now = ticker.nanos();
        List<PoolInstance> old = new ArrayList<>();
        synchronized (this) {
            for (Member m : members.values()) {
                if (m.state == State.IDLE && now - m.idleSinceNanos > keepAlive.toNanos()) {
                    old.add(m.instance);
                }
            }
        }
        old.forEach(PoolInstance::stop);
    }

    /**
     * Stops every idle instance, pre-restored clones included (and those running a freshen hook), and
     * waits (a few seconds at most) until they have exited.
     *
     * @return how many were stopped
     */
    public int evictIdle() throws InterruptedException {
        List<Member> idle;
        synchronized (this) {
            // A clone running a freshen hook is idle as far as the user can tell. A clone still being
            // restored is left to finish: a restore stopped halfway reads as a failed one.
            idle = members.values().stream().filter(m -> m.state == State.IDLE || freshening(m)).toList();
        }
        idle.forEach(m -> m.instance.stop());
        awaitGone(idle);
        return idle.size();
    }

    /**
     * Stops the pool: no new invocations; idle and starting instances are stopped at once, busy ones
     * after their invocation.
     *
     * @return the queued invocations, which the caller re-submits (redeploy) or fails (delete)
     */
    public List<Invocation> close() {
        List<PoolInstance> toStop;
        List<Invocation> pending;
        synchronized (this) {
            closed = true;
            pending = new ArrayList<>(queue);
            queue.clear();
            toStop = members.values().stream().filter(m -> m.state != State.BUSY).map(m -> m.instance).toList();
        }
        toStop.forEach(PoolInstance::stop);
        starter.close();
        return pending;
    }

    /**
     * Waits until no instance is serving an invocation and none waits, or {@code deadlineNanos} (of the
     * ticker) passes.
     *
     * @return whether the pool is drained
     */
    public boolean awaitDrained(long deadlineNanos) throws InterruptedException {
        while (true) {
            FunctionInfo.InstanceCounts c = counts();
            if (c.busy() == 0 && c.queued() == 0) {
                return true;
            }
            if (ticker.nanos() >= deadlineNanos) {
                return false;
            }
            Thread.sleep(20);
        }
    }

    /**
     * Answers the invocations instances are running now with {@code reason}, without waiting for them
     * (a node whose drain grace ran out); their instances' late answers are ignored.
     */
    public void failRunning(ThawException reason) {
        List<Member> busy;
        synchronized (this) {
            busy = members.values().stream().filter(m -> m.current != null && !m.current.isDone()).toList();
        }
        for (Member m : busy) {
            Invocation inv = m.current;
            if (inv != null && !inv.isDone()) {
                m.instance.endLogCapture(inv);
                inv.fail(reason);
            }
        }
    }

    /** Stops everything, busy instances too, and waits (a few seconds at most) for them to exit. */
    public void shutdown(ThawException reason) throws InterruptedException {
        close().forEach(inv -> inv.fail(reason));
        List<Member> all;
        synchronized (this) {
            all = List.copyOf(members.values());
        }
        all.forEach(m -> m.instance.stop());
        awaitGone(all);
    }

    private static void awaitGone(List<Member> stopped) throws InterruptedException {
        CompletableFuture<?>[] exits = stopped.stream().map(m -> m.gone).toArray(CompletableFuture[]::new);
        try {
            CompletableFuture.allOf(exits).get(STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // an instance that does not exit within the bound is left to its supervisor's kill
        }
    }

    /** @return how many instances are starting, idle and busy, and how many invocations wait */
    public synchronized FunctionInfo.InstanceCounts counts() {
        int starting = 0;
        int idle = 0;
        int busy = 0;
        for (Member m : members.values()) {
            switch (m.state) {
                case STARTING -> starting++;
                case IDLE -> idle++;
                case BUSY -> busy++;
                default -> { }
            }
        }
        return new FunctionInfo.InstanceCounts(starting, idle, busy, queue.size());
    }

    private static OptionalDouble optional(double v) {
        return Double.isNaN(v) ? OptionalDouble.empty() : OptionalDouble.of(v);
    }
}
