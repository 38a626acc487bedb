package dev.thaw.node.ahead;

import dev.thaw.core.FunctionManifest;
import dev.thaw.node.pool.FunctionPool;
import dev.thaw.node.pool.Invocation;
import dev.thaw.node.pool.Scheduler;
import dev.thaw.scaling.Autoscaler;
import dev.thaw.scaling.ChainOutcome;
import dev.thaw.scaling.ChainPredictor;
import dev.thaw.scaling.ChainSettings;
import dev.thaw.scaling.FreshenLimiter;
import dev.thaw.scaling.FreshenLimits;
import dev.thaw.scaling.FreshenPermit;
import dev.thaw.scaling.Prediction;
import dev.thaw.scaling.PrewarmInputs;
import dev.thaw.scaling.PrewarmPlan;
import dev.thaw.scaling.PrewarmPolicy;
import dev.thaw.scaling.ScaleDecision;
import dev.thaw.scaling.ScalingSettings;
import dev.thaw.scaling.Ticker;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/*
 * Work started ahead of demand, per function (its latest version's pool): the node's side of the
 * scaling module's policies, which decide and never act.
 *
 * Every tick (2 s) and at once on the first request after zero, each function's autoscaler
 * (Knative's KPA: stable and panic windows over the observed concurrency) says how many instances it
 * should have and the prewarm policy how many pre-restored clones to keep; the pool then restores
 * what is missing ahead of demand, several at once, and retires what is beyond: idle instances once
 * they have been idle a whole stable window (the same patience as the autoscaler's), clones beyond
 * the target or that waited too long. Scale-ups are restores, never boots: the pool starts ahead only
 * once a snapshot is ready.
 *
 * Each accepted invocation is also an event for the chain predictor: when A runs and B has followed
 * A before (or A declares B as next), B gets a pre-restored clone now, and B's freshen hook is called
 * on it as soon as it is ready, within the freshen limiter's budget. The predictor settles each
 * prediction as used or wasted, which `thaw describe` and the metrics show. It sees the invocations
 * on the timer's thread, never on theirs, in passes at most 10 ms apart: one after a quiet spell at
 * once, those of a busy node together (a wake-up of that thread per invocation took a share of a
 * core of its own on a node serving thousands a second).
 *
 * Clock and timers are injected (the scaling module's Ticker and the pool's Scheduler), so the
 * wiring is as testable as the policies.
 */
/** Autoscaling, pre-restored clones, chain prediction and freshen calls (see the comment above). */
public final class AheadOfDemand {
    private static final System.Logger LOG = System.getLogger("thaw.node");
    private static final Duration TICK = Duration.ofSeconds(2);
    /** How long a freshen call waits for its function's pre-restored clone to be ready, checking this often. */
    private static final Duration FRESHEN_RETRY = Duration.ofMillis(100);
    private static final int FRESHEN_TRIES = 50;
    /**
     * At most one pass of the predictor over the invocations accepted meanwhile per this time: on a
     * busy node, one wake-up of the timer's thread for many invocations instead of one each.
     */
    private static final Duration SEEN_AT_MOST_EVERY = Duration.ofMillis(10);

    /** What a function's state is told to the node's metrics. */
    public interface Observer {
        /** A freshen call was made, refused or failed. */
        void freshen(String function, String outcome);

        /** A prediction started a clone. */
        void predicted(String function, String from);
    }

    private record Managed(FunctionPool pool, Autoscaler autoscaler, FunctionManifest.Scaling scaling, int maxInstances) {
    }

    private final Ticker ticker;
    private final boolean actOnLearned;
    private final Scheduler scheduler;
    private final Duration scaleToZeroGrace;
    private final Observer observer;
    private final Map<String, Managed> functions = new ConcurrentHashMap<>();
    private final ChainPredictor predictor;
    private final FreshenLimiter freshenLimiter;
    private final FreshenLimits freshenLimits;
    private final PrewarmPolicy prewarmPolicy = PrewarmPolicy.defaults();
    /** Functions whose runtime said they have no freshen hook: not asked again until redeployed. */
    private final java.util.Set<String> noHook = ConcurrentHashMap.newKeySet();
    /** Functions with a freshen call waiting for an idle instance: a prediction meanwhile starts no other. */
    private final java.util.Set<String> freshening = ConcurrentHashMap.newKeySet();
    private volatile Scheduler.Cancellable ticking;
    /** Accepted invocations the predictor has not seen yet, in order (see {@link #invoked}). */
    private final Queue<String> unseen = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean seeingArmed = new AtomicBoolean();
    /** When the predictor's last pass began; at start, long enough ago that the first invocation is seen at once. */
    private volatile long lastSeenNanos;
    /** Set when the node drains: decisions and freshen calls already scheduled start nothing. */
    private volatile boolean stopped;

    /**
     * @param scaleToZeroGrace how long a function with no traffic keeps its last instance (the node's keep-alive)
     */
    public AheadOfDemand(Ticker ticker, Scheduler scheduler, Duration scaleToZeroGrace, Observer observer) {
        this(ticker, scheduler, scaleToZeroGrace, observer, true, FreshenLimits.defaults());
    }

    /**
     * @param actOnLearned whether chains learned from the history start clones and freshen calls
     *     (declared ones always do; learned ones are still learned and shown)
     * @param freshenLimits each function's freshen calls per window and the time of one call
     */
    public AheadOfDemand(Ticker ticker, Scheduler scheduler, Duration scaleToZeroGrace, Observer observer,
                         boolean actOnLearned, FreshenLimits freshenLimits) {
        this.actOnLearned = actOnLearned;
        this.ticker = ticker;
        this.lastSeenNanos = ticker.read() - SEEN_AT_MOST_EVERY.toNanos();
        this.scheduler = scheduler;
        this.scaleToZeroGrace = scaleToZeroGrace;
        this.observer = observer;
        this.predictor = ChainPredictor.create(ChainSettings.defaults(), ticker);
        this.freshenLimits = freshenLimits;
        this.freshenLimiter = FreshenLimiter.create(freshenLimits, ticker);
    }

    /** Starts deciding every tick. */
    public void start() {
        schedule();
    }

    private void schedule() {
        if (stopped) {
            return;
        }
        ticking = scheduler.schedule(() -> {
            try {
                tick();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "scaling tick failed: " + e);
            } finally {
                schedule();
            }
        }, TICK);
    }

    public void stop() {
        stopped = true;
        Scheduler.Cancellable t = ticking;
        if (t != null) {
            t.cancel();
        }
    }

    /** The function's latest version is this pool now (a deploy, or the node's start): it is scaled from here on. */
    public void manage(String function, FunctionPool pool, FunctionManifest manifest) {
        FunctionManifest.Scaling s = manifest.scalingOrDefault();
        int max = manifest.maxInstances() == null ? FunctionManifest.DEFAULT_MAX_INSTANCES : manifest.maxInstances();
        ScalingSettings settings = ScalingSettings.builder().minInstances(Math.min(s.minInstances(), max)).maxInstances(max)
                .targetConcurrency(s.targetConcurrency()).scaleToZeroGracePeriod(scaleToZeroGrace).tickInterval(TICK)
                .build();
        functions.put(function, new Managed(pool, Autoscaler.create(settings, ticker), s, max));
        // starts ahead of demand are paced like the others: the rest are asked for as the first come up
        pool.onStartRoom(() -> scheduler.schedule(() -> decide(function), Duration.ZERO));
        predictor.declare(function, s.next());
        noHook.remove(function);
        scheduler.schedule(() -> decide(function), Duration.ZERO); // min instances and clones from the start
    }

    /** The function was deleted: forgotten, its chains and limits with it. */
    public void forget(String function) {
        functions.remove(function);
        predictor.forget(function);
        freshenLimiter.forget(function);
        noHook.remove(function);
    }

    /** An invocation of the function was accepted (any type): demand, and a link in the chains. */
    public void invoked(String function) {
        Managed m = functions.get(function);
        boolean firstAfterZero = m != null && m.autoscaler().sample(m.pool().inFlight());
        // The rest runs on the timer: this is the invocation's own thread, and nothing here is for the
        // invocation already on its way. The predictions this invocation settles are settled before
        // the decision it may ask for: it is the demand they foresaw, and counted as both (a pending
        // prediction and the autoscaler's first request) it restored a second clone beside the one
        // that was predicted for it, while that one ran its freshen hook.
        unseen.add(function);
        if (firstAfterZero) {
            scheduler.schedule(() -> {
                seeUnseen();
                decide(function); // the first request after zero
            }, Duration.ZERO);
        } else if (seeingArmed.compareAndSet(false, true)) {
            // An invocation after a quiet spell is seen at once; one on a busy node waits for the next
            // pass, at most SEEN_AT_MOST_EVERY after the last (a restore it may start takes far longer).
            long wait = Math.max(0, SEEN_AT_MOST_EVERY.toNanos() - (ticker.read() - lastSeenNanos));
            scheduler.schedule(this::seeUnseen, Duration.ofNanos(wait));
        }
    }

    /** The predictor's pass over the invocations accepted since the last one, on the timer. */
    private void seeUnseen() {
        seeingArmed.set(false); // before taking: an invocation added from now on arms the next pass
        lastSeenNanos = ticker.read();
        for (String function; (function = unseen.poll()) != null; ) {
            predictFrom(function);
        }
    }

    private void predictFrom(String function) {
        if (stopped) {
            return;
        }
        for (Prediction p : predictor.invoked(function)) {
            if (actOnLearned || p.declared()) {
                prepare(p);
            }
        }
    }

    /**
     * An invocation of the function ended (answered, failed, timed out). Concurrency is always sampled
     * from the pool rather than counted from events: an invocation pinned to an older version, or one
     * accepted before a redeploy replaced the autoscaler, ends in a pool this autoscaler never saw start.
     */
    public void ended(String function) {
        Managed m = functions.get(function);
        if (m != null) {
            m.autoscaler().sample(m.pool().inFlight());
        }
    }

    /**
     * {@code thaw evict} is about to stop the function's idle instances: an operator's scale-down.
     * The autoscaler forgets the concurrency it observed before the instances go (else it would
     * restore at once what was just evicted, and the next invocation could never be a cold start).
     * Before, not only after: a tick between the eviction and {@link #evicted} would otherwise see
     * the instances gone and the old concurrency, and restore a scale-up's instance in place of the
     * pre-restored clones the prewarm level asks for.
     */
    public void evicting(String function) {
        forgetConcurrency(function);
    }

    /**
     * {@code thaw evict} stopped the function's idle instances: the autoscaler forgets what it
     * sampled while they stopped, and the prewarm level comes back at once.
     */
    public void evicted(String function) {
        forgetConcurrency(function);
        scheduler.schedule(() -> decide(function), Duration.ZERO);
    }

    private void forgetConcurrency(String function) {
        functions.computeIfPresent(function, (name, m) -> new Managed(m.pool(),
                Autoscaler.create(m.autoscaler().settings(), ticker), m.scaling(), m.maxInstances()));
    }

    void tick() {
        for (String f : List.copyOf(functions.keySet())) {
            decide(f);
        }
    }

    /** One decision for one function, carried out. */
    void decide(String function) {
        Managed m = functions.get(function);
        if (m == null || stopped) {
            return;
        }
        FunctionPool.Ahead a = m.pool().ahead();
        m.autoscaler().sample(a.inFlight());
        ScaleDecision d = m.autoscaler().decide(a.ready());
        PrewarmPlan plan = prewarmPolicy.plan(new PrewarmInputs(m.scaling().prewarm(), d.desiredInstances(),
                a.instances(), a.idleInstances(), actOnLearned ? predictor.pending(function) : 0, m.maxInstances(),
                a.cloneWaits()));
        int missing = Math.max(0, d.desiredInstances() - a.instances() - a.cloneWaits().size());
        if (missing > 0) {
            m.pool().startAhead(missing, false); // a scale-up: restores, several at once
        }
        if (plan.start() > 0) {
            m.pool().startAhead(plan.start(), true);
        }
        m.pool().retire(d.desiredInstances(), plan.target(), m.autoscaler().settings().stableWindow(),
                prewarmPolicy.maxCloneWait());
    }

    /** A predicted invocation of {@code p.to()}: a clone for it, then its freshen hook. */
    private void prepare(Prediction p) {
        Managed m = functions.get(p.to());
        if (m == null || stopped) {
            return;
        }
        FunctionPool.Ahead a = m.pool().ahead();
        if (a.idleInstances() + a.cloneWaits().size() == 0) {
            if (m.pool().startAhead(1, true) > 0) {
                observer.predicted(p.to(), p.from());
            }
        }
        // One freshen call waiting for a clone per function: every invocation of a busy A predicts B
        // again, and each would otherwise start its own round of retries.
        if (!noHook.contains(p.to()) && freshening.add(p.to())) {
            String reason = "follows " + p.from() + (p.declared() ? " (declared chain)" : " (learned chain, "
                    + p.support() + " of " + p.rounds() + " rounds)");
            freshenWhenReady(p.to(), reason, FRESHEN_TRIES);
        }
    }

    /**
     * Tries to call the function's freshen hook, again later while it has no idle instance; every way
     * it ends takes the function out of {@code freshening}.
     */
    private void freshenWhenReady(String function, String reason, int triesLeft) {
        Managed m = functions.get(function);
        if (m == null || stopped) {
            freshening.remove(function);
            return;
        }
        FunctionPool.Ahead a = m.pool().ahead();
        boolean idle = a.idleInstances() + (int) a.cloneWaits().stream().filter(w -> !w.isZero()).count() > 0;
        if (!idle) {
            retryFreshen(function, reason, triesLeft);
            return;
        }
        FreshenPermit permit = freshenLimiter.tryAcquire(function);
        if (!(permit instanceof FreshenPermit.Granted granted)) {
            freshening.remove(function);
            observer.freshen(function, "refused");
            return;
        }
        Invocation call = Invocation.freshen(reason);
        long start = ticker.read();
        if (!m.pool().freshen(call, granted.timeLimit())) {
            freshenLimiter.recordTime(function, Duration.ZERO);
            retryFreshen(function, reason, triesLeft);
            return;
        }
        freshening.remove(function);
        call.result().whenComplete((r, t) -> {
            freshenLimiter.recordTime(function, Duration.ofNanos(ticker.read() - start));
            if (t == null) {
                observer.freshen(function, "completed");
            } else if (String.valueOf(t.getMessage()).contains("Freshen.NotImplemented")) {
                noHook.add(function);
                observer.freshen(function, "no_hook");
            } else {
                observer.freshen(function, String.valueOf(t.getMessage()).contains("Freshen.Timeout") ? "cut_off" : "failed");
            }
        });
    }

    private void retryFreshen(String function, String reason, int triesLeft) {
        if (triesLeft > 0) {
            scheduler.schedule(() -> freshenWhenReady(function, reason, triesLeft - 1), FRESHEN_RETRY);
        } else {
            freshening.remove(function);
        }
    }

    /** @return what {@code thaw describe} shows of the function's scaling: the last decision, clones, chains, freshen */
    public Optional<Map<String, Object>> describe(String function) {
        Managed m = functions.get(function);
        if (m == null) {
            return Optional.empty();
        }
        Map<String, Object> out = new LinkedHashMap<>();
        FunctionManifest.Scaling s = m.scaling();
        out.put("minInstances", s.minInstances());
        out.put("targetConcurrency", s.targetConcurrency());
        out.put("prewarm", s.prewarm());
        out.put("next", s.next());
        m.autoscaler().lastDecision().ifPresent(d -> {
            Map<String, Object> dm = new LinkedHashMap<>();
            dm.put("desiredInstances", d.desiredInstances());
            dm.put("readyInstances", d.readyInstances());
            dm.put("stableConcurrency", d.stableConcurrency());
            dm.put("panicConcurrency", d.panicConcurrency());
            dm.put("panicking", d.panicking());
            dm.put("reason", d.reason());
            out.put("autoscaler", dm);
        });
        out.put("preRestoredClones", m.pool().ahead().cloneWaits().size());
        List<Map<String, Object>> chains = new java.util.ArrayList<>();
        for (ChainOutcome o : predictor.outcomes()) {
            if (o.from().equals(function) || o.to().equals(function)) {
                Map<String, Object> c = new LinkedHashMap<>();
                c.put("from", o.from());
                c.put("to", o.to());
                c.put("predicted", o.predicted());
                c.put("used", o.used());
                c.put("wasted", o.wasted());
                c.put("pending", o.pending());
                chains.add(c);
            }
        }
        out.put("predictions", chains);
        var usage = freshenLimiter.usage(function);
        Map<String, Object> fr = new LinkedHashMap<>();
        fr.put("granted", usage.granted());
        fr.put("refused", usage.refused());
        fr.put("timeMs", usage.time().toMillis());
        fr.put("overruns", usage.overruns());
        fr.put("limit", Map.of("maxCalls", freshenLimits.maxCalls(), "windowS", freshenLimits.window().toSeconds(),
                "maxMs", freshenLimits.maxTimePerCall().toMillis()));
        out.put("freshen", fr);
        return Optional.of(out);
    }

    /** @return every chain's outcome, for the metrics */
    public List<ChainOutcome> outcomes() {
        return predictor.outcomes();
    }
}
