package dev.thaw.scaling;

import static dev.thaw.scaling.Checks.requireArgument;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/*
 * Design. Three structures, all advanced lazily to the ticker's now at the start of every call, so
 * nothing needs a timer:
 *
 *  - Per function, an open round (start time, its own invocations, the functions that started
 *    since with their first delay and their invocations, and the predictions it made) and a
 *    history of its last `history` closed rounds, oldest first. Rounds close when the
 *    window after their start has passed; `openRounds` lists open rounds by start time, and since
 *    every round lasts the same window, closing them is popping that deque's head. Support and the
 *    median delay are counted from the history at prediction time: at most history x 16 entries,
 *    and it makes forgetting exact (a round leaves when it is `history` rounds or `forgetAfter`
 *    old) instead of approximating it with decayed counters. The same pass over the history gives
 *    each chain's followers per invocation (B's invocations over A's, in A's rounds) and the most
 *    in one round, which bound how many predictions one round makes.
 *
 *  - Pending predictions in the order they were made, which is also the order of their deadlines
 *    (made + window). Expiring is popping the head; an unsettled one is wasted. A per-target queue
 *    of the same objects lets an invocation of B settle the oldest pending prediction of B as used
 *    without a scan; entries already settled (expired, used, forgotten) are skipped there lazily.
 *
 *  - Counters per chain (from, to).
 *
 * Memory is bounded by the functions the node has (it calls forget on delete) times `history`
 * rounds of at most 16 followers, plus at most MAX_PENDING predictions. Every method holds the
 * predictor's monitor; an invocation costs the open rounds (functions started within the window)
 * plus one prediction (history x 16).
 */
final class HistoryChainPredictor implements ChainPredictor {
    private final ChainSettings settings;
    private final Ticker ticker;
    private final long window;
    private final long forgetAfter;

    private final Map<String, FunctionState> functions = new HashMap<>();
    private final ArrayDeque<Round> openRounds = new ArrayDeque<>();
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private final Map<String, ArrayDeque<Pending>> pendingByTarget = new HashMap<>();
    private final Map<Chain, Counters> outcomes = new HashMap<>();
    private int tracked;

    HistoryChainPredictor(ChainSettings settings, Ticker ticker) {
        this.settings = settings;
        this.ticker = ticker;
        this.window = settings.window().toNanos();
        this.forgetAfter = settings.forgetAfter().toNanos();
    }

    private record Chain(String from, String to) {
    }

    private static final class FunctionState {
        final String name;
        Round open;
        final ArrayDeque<Round> history = new ArrayDeque<>();
        final Set<String> declared = new LinkedHashSet<>();

        FunctionState(String name) {
            this.name = name;
        }
    }

    private static final class Round {
        final FunctionState owner;
        final long start;
        /** The owner's invocations in the round, the one that opened it included. */
        long calls;
        final Map<String, Follower> followers = new LinkedHashMap<>();
        /** Predictions this round's invocations made, per function predicted. */
        final Map<String, Long> predicted = new HashMap<>();

        Round(FunctionState owner, long start) {
            this.owner = owner;
            this.start = start;
        }
    }

    /** A function that followed in a round: its first start's delay and its invocations in the round. */
    private static final class Follower {
        final long delay;
        long calls = 1;

        Follower(long delay) {
            this.delay = delay;
        }
    }

    /** What a function's history says of one function following it. */
    private static final class Seen {
        /** The delays of the rounds it followed in, the first {@code support} of them. */
        final long[] delays;
        /** In how many rounds it followed. */
        int support;
        /** Its invocations in those rounds, and the most in any one. */
        long calls;
        long mostInARound;

        Seen(int rounds) {
            delays = new long[rounds];
        }
    }

    /**
     * A function's history, summed once per prediction pass.
     *
     * @param rounds the rounds counted
     * @param calls the function's own invocations in them
     * @param followers what they say of each function that followed
     */
    private record History(int rounds, long calls, Map<String, Seen> followers) {
    }

    private static final class Pending {
        final Chain chain;
        final long made;
        boolean settled;

        Pending(Chain chain, long made) {
            this.chain = chain;
            this.made = made;
        }
    }

    private static final class Counters {
        long predicted;
        long used;
        long wasted;
        long pending;
        long untracked;
    }

    @Override
    public synchronized List<Prediction> invoked(String function) {
        Checks.function(function);
        long now = ticker.read();
        advance(now);
        FunctionState self = functions.computeIfAbsent(function, FunctionState::new);

        for (Round round : openRounds) {
            if (round.owner != self && current(round.owner) && round.owner.open == round) {
                Follower seen = round.followers.get(function);
                if (seen != null) {
                    seen.calls++;
                } else if (round.followers.size() < MAX_FOLLOWERS_PER_ROUND) {
                    round.followers.put(function, new Follower(now - round.start));
                }
            }
        }

        ArrayDeque<Pending> waiting = pendingByTarget.get(function);
        while (waiting != null && !waiting.isEmpty()) {
            Pending p = waiting.pollFirst();
            if (!p.settled) {
                p.settled = true;
                tracked--;
                Counters c = outcomes.get(p.chain);
                c.used++;
                c.pending--;
                break;
            }
        }

        if (self.open == null) {
            self.open = new Round(self, now);
            openRounds.addLast(self.open);
        }
        Round round = self.open;
        round.calls++;
        History history = history(self, now);
        List<Prediction> predictions = new ArrayList<>();
        for (Prediction prediction : predict(self, history)) {
            long made = round.predicted.getOrDefault(prediction.to(), 0L);
            if (made < quota(history, prediction.to(), round.calls)) {
                round.predicted.put(prediction.to(), made + 1);
                predictions.add(prediction);
            }
        }
        for (Prediction prediction : predictions) {
            Chain chain = new Chain(prediction.from(), prediction.to());
            Counters c = outcomes.computeIfAbsent(chain, k -> new Counters());
            c.predicted++;
            if (tracked >= MAX_PENDING) {
                c.untracked++;
                continue;
            }
            Pending p = new Pending(chain, now);
            pending.addLast(p);
            pendingByTarget.computeIfAbsent(chain.to(), k -> new ArrayDeque<>()).addLast(p);
            tracked++;
            c.pending++;
        }
        return List.copyOf(predictions);
    }

    /**
     * How many predictions of {@code to} a round of the function whose {@code history} this is makes
     * by its {@code calls}-th invocation: the first always, then as many as {@code to}'s invocations
     * per invocation of the function in the history say are due, and never more than {@code to} has followed in any
     * one round of the history. Each prediction counts as a clone wanted, so predictions beyond the
     * evidence hold clones that nothing uses: an A called fifty times a round that B follows once
     * predicts B once a round, not fifty times; a burst of a hundred calls of A whose rounds so far
     * held one call of A and one of B predicts one B, not a hundred (the autoscaler restores for
     * whatever does come); a burst of A predicts a burst of B once such bursts have been seen.
     * Without a history (a declared chain not seen yet) every invocation predicts.
     */
    private static long quota(History history, String to, long calls) {
        if (history.calls() == 0) {
            return calls;
        }
        Seen seen = history.followers().get(to);
        return seen == null ? 1
                : Math.max(1, Math.min(seen.mostInARound, Math.ceilDiv(seen.calls * calls, history.calls())));
    }

    @Override
    public synchronized List<Prediction> predict(String function) {
        Checks.function(function);
        long now = ticker.read();
        advance(now);
        FunctionState state = functions.get(function);
        return state == null ? List.of() : predict(state, history(state, now));
    }

    /** Forgets the rounds older than {@code forgetAfter}, then sums what the rest say. */
    private History history(FunctionState state, long now) {
        while (!state.history.isEmpty() && now - state.history.peekFirst().start > forgetAfter) {
            state.history.pollFirst();
        }
        int rounds = state.history.size();
        long calls = 0;
        Map<String, Seen> seen = new LinkedHashMap<>();
        for (Round round : state.history) {
            calls += round.calls;
            round.followers.forEach((to, f) -> {
                Seen s = seen.computeIfAbsent(to, k -> new Seen(rounds));
                s.delays[s.support++] = f.delay;
                s.calls += f.calls;
                s.mostInARound = Math.max(s.mostInARound, f.calls);
            });
        }
        return new History(rounds, calls, seen);
    }

    private List<Prediction> predict(FunctionState state, History history) {
        int rounds = history.rounds();
        Map<String, Seen> seen = history.followers();
        List<Prediction> out = new ArrayList<>();
        for (String to : state.declared) {
            Seen s = seen.get(to);
            int n = s == null ? 0 : s.support;
            out.add(new Prediction(state.name, to, median(s == null ? null : s.delays, n), true, n, rounds));
        }
        List<Prediction> learned = new ArrayList<>();
        seen.forEach((to, s) -> {
            if (s.support >= settings.minSupport() && !state.declared.contains(to)) {
                learned.add(new Prediction(state.name, to, median(s.delays, s.support), false, s.support, rounds));
            }
        });
        learned.sort(Comparator.comparingInt(Prediction::support).reversed()
                .thenComparing(Prediction::expectedDelay).thenComparing(Prediction::to));
        out.addAll(learned);
        return List.copyOf(out);
    }

    /** The lower median of the first {@code n} delays; zero when there are none. */
    private static Duration median(long[] delays, int n) {
        if (delays == null || n == 0) {
            return Duration.ZERO;
        }
        long[] sorted = Arrays.copyOf(delays, n);
        Arrays.sort(sorted);
        return Duration.ofNanos(sorted[(n - 1) / 2]);
    }

    /** Closes rounds whose window has passed and wastes predictions whose window has. */
    private void advance(long now) {
        while (!openRounds.isEmpty() && now - openRounds.peekFirst().start > window) {
            Round round = openRounds.pollFirst();
            FunctionState owner = round.owner;
            if (owner.open == round) {
                owner.open = null;
                if (current(owner)) {
                    owner.history.addLast(round);
                    while (owner.history.size() > settings.history()) {
                        owner.history.pollFirst();
                    }
                }
            }
        }
        while (!pending.isEmpty() && now - pending.peekFirst().made > window) {
            Pending p = pending.pollFirst();
            if (!p.settled) {
                p.settled = true;
                tracked--;
                Counters c = outcomes.get(p.chain);
                c.wasted++;
                c.pending--;
            }
        }
        pendingByTarget.values().forEach(q -> {
            while (!q.isEmpty() && q.peekFirst().settled) {
                q.pollFirst();
            }
        });
        pendingByTarget.values().removeIf(ArrayDeque::isEmpty);
    }

    private boolean current(FunctionState state) {
        return functions.get(state.name) == state;
    }

    @Override
    public synchronized void declare(String function, Collection<String> next) {
        Checks.function(function);
        Objects.requireNonNull(next, "next");
        Set<String> names = new LinkedHashSet<>();
        for (String to : next) {
            Checks.function(to);
            requireArgument(!to.equals(function), "function '%s' cannot be declared to follow itself", function);
            names.add(to);
        }
        FunctionState state = functions.computeIfAbsent(function, FunctionState::new);
        state.declared.clear();
        state.declared.addAll(names);
    }

    @Override
    public synchronized void forget(String function) {
        Checks.function(function);
        functions.remove(function);
        for (FunctionState state : functions.values()) {
            state.declared.remove(function);
            if (state.open != null) {
                state.open.followers.remove(function);
                state.open.predicted.remove(function);
            }
            state.history.forEach(round -> round.followers.remove(function));
        }
        for (Pending p : pending) {
            if (!p.settled && (p.chain.from().equals(function) || p.chain.to().equals(function))) {
                p.settled = true;
                tracked--;
            }
        }
        pendingByTarget.remove(function);
        outcomes.keySet().removeIf(chain -> chain.from().equals(function) || chain.to().equals(function));
    }

    @Override
    public synchronized List<ChainOutcome> outcomes() {
        advance(ticker.read());
        List<ChainOutcome> out = new ArrayList<>(outcomes.size());
        outcomes.forEach((chain, c) ->
                out.add(new ChainOutcome(chain.from(), chain.to(), c.predicted, c.used, c.wasted, c.pending, c.untracked)));
        out.sort(Comparator.comparing(ChainOutcome::from).thenComparing(ChainOutcome::to));
        return List.copyOf(out);
    }

    @Override
    public synchronized int pending(String function) {
        Checks.function(function);
        advance(ticker.read());
        long n = 0;
        for (Map.Entry<Chain, Counters> e : outcomes.entrySet()) {
            if (e.getKey().to().equals(function)) {
                n += e.getValue().pending;
            }
        }
        return (int) n;
    }

    @Override
    public ChainSettings settings() {
        return settings;
    }

    @Override
    public synchronized String toString() {
        return "ChainPredictor[" + functions.size() + " functions, " + tracked + " pending]";
    }
}
