package dev.thaw.cluster;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.common.exception.EtcdExceptionFactory;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/*
 * The handle's local view of the cluster, kept by one watch over the whole key prefix.
 *
 * Threading. Everything here runs on one thread, "events" (a single-thread scheduler): loading,
 * applying watch responses, the watchdog, and every listener call, so listeners see changes in
 * etcd's order and a subscription's replay of the current state cannot interleave with a change.
 * The maps are concurrent so that readers on other threads see a recent state without locks.
 *
 * Revisions. `revision` is the etcd revision through which the view is complete. A full load reads
 * members, functions, snapshots, claims, aliases and waiters in one transaction (one revision R) and the watch starts
 * at R+1; after any interruption the watch is re-created from revision+1, so no change is missed and
 * none applied twice (events at or below `revision` are skipped: a re-created watch may replay them).
 * Progress notifications are not used to advance `revision`: etcd 3.4 may report a revision ahead of
 * events it has not sent yet to a watcher that is catching up. When etcd has compacted revision+1
 * away, the watch is cancelled with the compaction revision and the view does a full load again,
 * diffing the new state against the old so that listeners still hear of every change (joined, left,
 * deployed, deleted, aliased, unaliased) as one event each.
 *
 * Watchdog. A watch can stop delivering without an error: jetcd does not re-create a watch that
 * fails with certain statuses (a leader loss is one), and a stream can hang. Each
 * watchCheckInterval of silence, the view asks etcd for a progress notification on the watch's
 * stream; if none arrives within another interval the watch is re-created from revision+1. Errors
 * and completions re-create it too (after a backoff), and make the session check the connection: if
 * etcd is gone the session suspends the view, and resumes it on reconnection with the new client.
 */
/** The local view of members, functions, snapshots, claims and aliases, with its watch and listeners. */
final class View {
    private static final System.Logger LOG = System.getLogger(View.class.getName());

    private final ClusterConfig config;
    private final Keys keys;
    private final ScheduledExecutorService events;
    private final Session session;
    private final Thread eventsThread;
    private final ByteSequence prefix;

    // read by any thread
    final ConcurrentSkipListMap<String, Member> members = new ConcurrentSkipListMap<>();
    final ConcurrentSkipListMap<String, FunctionVersion> functions = new ConcurrentSkipListMap<>();
    /** Keyed by "name/version(padded)", so sorted by function then version. */
    final ConcurrentSkipListMap<String, SnapshotEntry> snapshots = new ConcurrentSkipListMap<>();
    final ConcurrentHashMap<String, BootClaim> claims = new ConcurrentHashMap<>();
    /** Slot -> the ids of the nodes waiting for its snapshot (in {@link EtcdCatalog#awaitSnapshot}). */
    final ConcurrentHashMap<String, Set<String>> awaiting = new ConcurrentHashMap<>();
    /** Keyed by "name/alias", so sorted by function then alias. */
    final ConcurrentSkipListMap<String, AliasEntry> aliases = new ConcurrentSkipListMap<>();
    private volatile long revision;

    final Listeners<MemberEvent> memberListeners = new Listeners<>("member");
    final Listeners<FunctionEvent> functionListeners = new Listeners<>("function");
    final Listeners<CatalogEvent> catalogListeners = new Listeners<>("catalog");
    final Listeners<ConnectionState> stateListeners = new Listeners<>("connection");

    // events thread only
    private Client client;
    private int epoch = -1;
    private boolean active;
    private boolean closed;
    private Watch.Watcher watcher;
    private long watchGen;
    private long lastHeardNanos;
    private long progressRequestedNanos;
    private Duration retryBackoff;
    private ScheduledFuture<?> retryTask;
    private final List<Waiter> waiters = new ArrayList<>();
    private final CompletableFuture<Void> firstLoad = new CompletableFuture<>();

    private final AtomicLong fullLoads = new AtomicLong();
    private final AtomicLong watchdogRestarts = new AtomicLong();

    View(ClusterConfig config, Keys keys, ScheduledExecutorService events, Session session) {
        this.config = config;
        this.keys = keys;
        this.events = events;
        this.session = session;
        this.eventsThread = EtcdCoordination.threadOf(events);
        this.prefix = Keys.bytes(keys.prefix());
        this.retryBackoff = config.reconnectBackoffMin();
        long check = Math.max(50, config.watchCheckInterval().toMillis() / 2);
        events.scheduleWithFixedDelay(this::watchdog, check, check, TimeUnit.MILLISECONDS);
    }

    boolean onEventsThread() {
        return Thread.currentThread() == eventsThread;
    }

    long revision() {
        return revision;
    }

    long fullLoads() {
        return fullLoads.get();
    }

    long watchdogRestarts() {
        return watchdogRestarts.get();
    }

    /** Completes once the first full load is done. */
    CompletableFuture<Void> firstLoad() {
        return firstLoad;
    }

    // ---------------------------------------------------------------- lifecycle (called from the session)

    /**
     * The session is connected with {@code client} (epoch {@code e}): load if never loaded, else resume
     * the watch. {@code serverRevision} is a revision etcd reported while reconnecting: one below the
     * view's means etcd lost data (restored from an older backup, or recreated empty), and a watch
     * from revision+1 would wait for revisions that are not coming, so the view reloads instead.
     */
    void resume(int e, Client c, long serverRevision) {
        execute(() -> {
            if (closed) {
                return;
            }
            this.epoch = e;
            this.client = c;
            this.active = true;
            retryBackoff = config.reconnectBackoffMin();
            if (serverRevision > 0 && serverRevision < revision) {
                LOG.log(Level.WARNING, "etcd is at revision {0}, behind the view''s {1}: it lost data; reloading the view",
                        serverRevision, revision);
                revision = 0;
            }
            if (revision == 0) {
                fullLoad();
            } else {
                startWatch();
            }
        });
    }

    /** The session lost epoch {@code e}'s connection: stop the watch until the next resume. */
    void suspend(int e) {
        execute(() -> {
            if (e != epoch) {
                return;
            }
            active = false;
            stopWatch();
            cancelRetry();
        });
    }

    void stateChanged(ConnectionState s) {
        execute(() -> stateListeners.emit(s));
    }

    void close() {
        execute(() -> {
            closed = true;
            active = false;
            stopWatch();
            cancelRetry();
            for (Waiter w : waiters) {
                w.future.complete(Optional.empty());
            }
            waiters.clear();
            firstLoad.completeExceptionally(new IllegalStateException("closed"));
        });
    }

    // ---------------------------------------------------------------- load

    private void fullLoad() {
        if (!active) {
            return;
        }
        int e = epoch;
        TxnResponse r;
        try {
            r = session.await("load the cluster view", client.getKVClient().txn().Then(
                    Op.get(Keys.bytes(keys.kind(Keys.MEMBERS)), prefixed()),
                    Op.get(Keys.bytes(keys.kind(Keys.FUNCTIONS)), prefixed()),
                    Op.get(Keys.bytes(keys.kind(Keys.SNAPSHOTS)), prefixed()),
                    Op.get(Keys.bytes(keys.kind(Keys.CLAIMS)), prefixed()),
                    Op.get(Keys.bytes(keys.kind(Keys.ALIASES)), prefixed()),
                    Op.get(Keys.bytes(keys.kind(Keys.WAITERS)), prefixed())).commit(), e);
        } catch (ClusterException ex) {
            LOG.log(Level.DEBUG, "loading the view failed: {0}", ex.getMessage());
            scheduleRetry(this::fullLoad);
            return;
        }
        fullLoads.incrementAndGet();
        List<GetResponse> gets = r.getGetResponses();
        Map<String, Member> m = new HashMap<>();
        Map<String, FunctionVersion> f = new HashMap<>();
        Map<String, Long> deleted = new HashMap<>();
        Map<String, SnapshotEntry> s = new HashMap<>();
        Map<String, BootClaim> c = new HashMap<>();
        for (KeyValue kv : gets.get(0).getKvs()) {
            decode(kv, Keys.MEMBERS).ifPresent(p -> decodeMember(kv).ifPresent(x -> m.put(p.name(), x)));
        }
        for (KeyValue kv : gets.get(1).getKvs()) {
            decode(kv, Keys.FUNCTIONS).ifPresent(p -> decodeFunction(kv).ifPresent(x -> {
                if (x instanceof Codec.Live live) {
                    f.put(p.name(), live.function());
                } else {
                    deleted.put(p.name(), x.version());
                }
            }));
        }
        for (KeyValue kv : gets.get(2).getKvs()) {
            decode(kv, Keys.SNAPSHOTS).ifPresent(p -> decodeSnapshot(kv).ifPresent(x -> s.put(slot(p.name(), p.version()), x)));
        }
        for (KeyValue kv : gets.get(3).getKvs()) {
            decode(kv, Keys.CLAIMS).ifPresent(p -> decodeClaim(kv).ifPresent(x -> c.put(slot(p.name(), p.version()), x)));
        }
        Map<String, AliasEntry> a = new HashMap<>();
        for (KeyValue kv : gets.get(4).getKvs()) {
            decode(kv, Keys.ALIASES).ifPresent(p -> decodeAlias(kv).ifPresent(x -> a.put(aliasSlot(p.name(), p.leaf()), x)));
        }
        // diff against the previous view, so that listeners hear of what changed while the watch was away
        for (Iterator<Member> it = members.values().iterator(); it.hasNext(); ) {
            Member old = it.next();
            if (!m.containsKey(old.id())) {
                it.remove();
                memberListeners.emit(new MemberEvent.Left(old));
            }
        }
        m.values().stream().sorted(java.util.Comparator.comparing(Member::id)).forEach(this::putMember);
        for (Iterator<FunctionVersion> it = functions.values().iterator(); it.hasNext(); ) {
            FunctionVersion old = it.next();
            if (!f.containsKey(old.name())) {
                it.remove();
                functionListeners.emit(new FunctionEvent.Deleted(old.name(), deleted.getOrDefault(old.name(), old.version())));
            }
        }
        f.values().stream().sorted(java.util.Comparator.comparing(FunctionVersion::name)).forEach(this::putFunction);
        for (Iterator<Map.Entry<String, SnapshotEntry>> it = snapshots.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, SnapshotEntry> old = it.next();
            if (!s.containsKey(old.getKey())) {
                it.remove();
                catalogListeners.emit(new CatalogEvent.Removed(old.getValue()));
            }
        }
        new java.util.TreeMap<>(s).forEach(this::putSnapshot);
        claims.keySet().retainAll(c.keySet());
        claims.putAll(c);
        for (Iterator<Map.Entry<String, AliasEntry>> it = aliases.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, AliasEntry> old = it.next();
            if (!a.containsKey(old.getKey())) {
                it.remove();
                functionListeners.emit(new FunctionEvent.Unaliased(old.getValue().function(), old.getValue().alias()));
            }
        }
        new java.util.TreeMap<>(a).forEach(this::putAlias);
        Map<String, Set<String>> w = new HashMap<>();
        for (KeyValue kv : gets.get(5).getKvs()) {
            decode(kv, Keys.WAITERS).ifPresent(p -> w.computeIfAbsent(slot(p.name(), p.version()), k -> ConcurrentHashMap.newKeySet())
                    .add(p.leaf()));
        }
        awaiting.keySet().retainAll(w.keySet());
        awaiting.putAll(w);
        revision = r.getHeader().getRevision();
        firstLoad.complete(null);
        evaluateWaiters();
        startWatch();
    }

    private static GetOption prefixed() {
        return GetOption.builder().isPrefix(true).build();
    }

    // ---------------------------------------------------------------- watch

    private void startWatch() {
        stopWatch();
        if (!active) {
            return;
        }
        long gen = ++watchGen;
        WatchOption option = WatchOption.builder()
                .isPrefix(true)
                .withRevision(revision + 1)
                .withPrevKV(true)
                .withProgressNotify(true)
                .withRequireLeader(true)
                .build();
        try {
            watcher = client.getWatchClient().watch(prefix, option, Watch.listener(
                    r -> execute(() -> onResponse(gen, r)),
                    t -> execute(() -> onError(gen, t)),
                    () -> execute(() -> onCompleted(gen))));
        } catch (RuntimeException ex) {
            LOG.log(Level.DEBUG, "creating the watch failed: {0}", ex.getMessage());
            session.checkSoon(epoch);
            scheduleRetry(this::startWatch);
            return;
        }
        lastHeardNanos = System.nanoTime();
        progressRequestedNanos = 0;
    }

    private void stopWatch() {
        watchGen++;                        // late callbacks of the old watcher are ignored
        Watch.Watcher w = watcher;
        watcher = null;
        if (w != null) {
            try {
                w.close();
            } catch (RuntimeException ex) {
                LOG.log(Level.DEBUG, "closing a watcher failed: {0}", ex.getMessage());
            }
        }
    }

    private void onResponse(long gen, WatchResponse r) {
        if (gen != watchGen || !active) {
            return;
        }
        lastHeardNanos = System.nanoTime();
        progressRequestedNanos = 0;
        retryBackoff = config.reconnectBackoffMin();
        List<WatchEvent> evs = r.getEvents();
        if (evs.isEmpty()) {
            return;                        // created, or a progress notification
        }
        long base = revision;
        long max = base;
        for (WatchEvent ev : evs) {
            long rev = ev.getKeyValue().getModRevision();
            if (rev <= base) {
                continue;                  // replayed after a re-creation
            }
            apply(ev);
            max = Math.max(max, rev);
        }
        revision = max;
        evaluateWaiters();
    }

    private void onError(long gen, Throwable t) {
        if (gen != watchGen || !active) {
            return;
        }
        stopWatch();
        EtcdException ee = EtcdExceptionFactory.toEtcdException(t);
        if (ee instanceof CompactedException ce) {
            LOG.log(Level.INFO, "revision {0} was compacted (at {1}): reloading the cluster view", revision + 1,
                    ce.getCompactedRevision());
            fullLoad();
            return;
        }
        LOG.log(Level.DEBUG, "the cluster watch failed: {0}", Session.describe(ee));
        session.checkSoon(epoch);
        scheduleRetry(this::startWatch);
    }

    private void onCompleted(long gen) {
        if (gen != watchGen || !active) {
            return;
        }
        LOG.log(Level.DEBUG, "the cluster watch ended; re-creating it from revision {0}", revision + 1);
        stopWatch();
        session.checkSoon(epoch);
        scheduleRetry(this::startWatch);
    }

    private void watchdog() {
        if (!active || watcher == null) {
            return;
        }
        long now = System.nanoTime();
        long interval = config.watchCheckInterval().toNanos();
        if (progressRequestedNanos != 0 && now - progressRequestedNanos > interval) {
            LOG.log(Level.WARNING, "the cluster watch of node {0} went silent (no progress notification within {1} ms);"
                    + " re-creating it from revision {2}", config.nodeId(), config.watchCheckInterval().toMillis(), revision + 1);
            watchdogRestarts.incrementAndGet();
            startWatch();
        } else if (progressRequestedNanos == 0 && now - lastHeardNanos > interval) {
            progressRequestedNanos = now;
            try {
                watcher.requestProgress();
            } catch (RuntimeException ex) {
                LOG.log(Level.DEBUG, "progress request failed: {0}", ex.getMessage());
            }
        }
    }

    private void scheduleRetry(Runnable r) {
        cancelRetry();
        if (!active) {
            return;
        }
        int e = epoch;
        try {
            retryTask = events.schedule(() -> {
                if (active && e == epoch) {
                    r.run();
                }
            }, retryBackoff.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException ex) {
            return;                        // closing
        }
        Duration doubled = retryBackoff.multipliedBy(2);
        retryBackoff = doubled.compareTo(config.reconnectBackoffMax()) > 0 ? config.reconnectBackoffMax() : doubled;
    }

    private void cancelRetry() {
        if (retryTask != null) {
            retryTask.cancel(false);
            retryTask = null;
        }
    }

    /**
     * For tests: makes the watch go silent the way a lost stream does, with no error and no
     * completion: the stream is closed behind the view's back and its callbacks are ignored.
     */
    void simulateSilentWatchLoss() {
        try {
            events.submit(() -> {
                Watch.Watcher w = watcher;
                watchGen++;
                if (w != null) {
                    w.close();
                }
                watcher = w;
            }).get();
        } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---------------------------------------------------------------- applying changes

    private void apply(WatchEvent ev) {
        KeyValue kv = ev.getKeyValue();
        String key = Keys.string(kv.getKey());
        Optional<Keys.Parsed> parsed = keys.parse(key);
        if (parsed.isEmpty()) {
            return;
        }
        Keys.Parsed p = parsed.get();
        boolean put = ev.getEventType() == WatchEvent.EventType.PUT;
        switch (p.kind()) {
            case Keys.MEMBERS -> {
                if (put) {
                    decodeMember(kv).ifPresent(this::putMember);
                } else {
                    Member old = members.remove(p.name());
                    if (old != null) {
                        memberListeners.emit(new MemberEvent.Left(old));
                    }
                    if (p.name().equals(config.nodeId()) && session.isJoined()) {
                        session.ownRecordDeleted();
                    }
                }
            }
            case Keys.FUNCTIONS -> {
                if (put) {
                    decodeFunction(kv).ifPresent(sf -> {
                        if (sf instanceof Codec.Live live) {
                            putFunction(live.function());
                        } else if (functions.remove(sf.name()) != null) {
                            functionListeners.emit(new FunctionEvent.Deleted(sf.name(), sf.version()));
                        }
                    });
                } else {
                    FunctionVersion old = functions.remove(p.name());
                    if (old != null) {
                        functionListeners.emit(new FunctionEvent.Deleted(old.name(), old.version()));
                    }
                }
            }
            case Keys.SNAPSHOTS -> {
                if (put) {
                    decodeSnapshot(kv).ifPresent(s -> putSnapshot(slot(p.name(), p.version()), s));
                } else {
                    SnapshotEntry old = snapshots.remove(slot(p.name(), p.version()));
                    if (old != null) {
                        catalogListeners.emit(new CatalogEvent.Removed(old));
                    }
                }
            }
            case Keys.CLAIMS -> {
                if (put) {
                    decodeClaim(kv).ifPresent(c -> claims.put(slot(p.name(), p.version()), c));
                } else {
                    claims.remove(slot(p.name(), p.version()));
                }
            }
            case Keys.WAITERS -> {
                String slot = slot(p.name(), p.version());
                if (put) {
                    awaiting.computeIfAbsent(slot, k -> ConcurrentHashMap.newKeySet()).add(p.leaf());
                } else {
                    awaiting.computeIfPresent(slot, (k, nodes) -> nodes.remove(p.leaf()) && nodes.isEmpty() ? null : nodes);
                }
            }
            case Keys.ALIASES -> {
                String slot = aliasSlot(p.name(), p.leaf());
                if (put) {
                    decodeAlias(kv).ifPresent(x -> putAlias(slot, x));
                } else if (aliases.remove(slot) != null) {
                    functionListeners.emit(new FunctionEvent.Unaliased(p.name(), p.leaf()));
                }
            }
            default -> {
                // versions/: the history is read from etcd, not kept here
            }
        }
    }

    private void putMember(Member m) {
        Member old = members.put(m.id(), m);
        if (old == null) {
            memberListeners.emit(new MemberEvent.Joined(m));
        } else if (!old.equals(m)) {
            memberListeners.emit(new MemberEvent.Updated(old, m));
        }
    }

    private void putFunction(FunctionVersion f) {
        FunctionVersion old = functions.put(f.name(), f);
        if (!f.equals(old)) {
            functionListeners.emit(new FunctionEvent.Deployed(f));
        }
    }

    private void putSnapshot(String slot, SnapshotEntry s) {
        SnapshotEntry old = snapshots.put(slot, s);
        if (!s.equals(old)) {
            catalogListeners.emit(new CatalogEvent.Published(s));
        }
    }

    private void putAlias(String slot, AliasEntry a) {
        AliasEntry old = aliases.put(slot, a);
        if (!a.equals(old)) {
            functionListeners.emit(new FunctionEvent.Aliased(a));
        }
    }

    static String aliasSlot(String function, String alias) {
        return function + "/" + alias;
    }

    static String slot(String function, long version) {
        return function + "/" + Keys.pad(version);
    }

    private Optional<Keys.Parsed> decode(KeyValue kv, String kind) {
        return keys.parse(Keys.string(kv.getKey())).filter(p -> p.kind().equals(kind));
    }

    private Optional<Member> decodeMember(KeyValue kv) {
        return decodeWith(kv, Codec::member);
    }

    private Optional<Codec.StoredFunction> decodeFunction(KeyValue kv) {
        return decodeWith(kv, Codec::function);
    }

    private Optional<SnapshotEntry> decodeSnapshot(KeyValue kv) {
        return decodeWith(kv, Codec::snapshot);
    }

    private Optional<BootClaim> decodeClaim(KeyValue kv) {
        return decodeWith(kv, Codec::claim);
    }

    private Optional<AliasEntry> decodeAlias(KeyValue kv) {
        return decodeWith(kv, Codec::alias);
    }

    private <T> Optional<T> decodeWith(KeyValue kv, java.util.function.BiFunction<String, ByteSequence, T> codec) {
        String key = Keys.string(kv.getKey());
        try {
            return Optional.of(codec.apply(key, kv.getValue()));
        } catch (RuntimeException ex) {
            LOG.log(Level.WARNING, "ignoring an unreadable record: {0}", ex.getMessage());
            return Optional.empty();
        }
    }

    // ---------------------------------------------------------------- waiting for a snapshot

    private record Waiter(String slot, long minRevision, CompletableFuture<Optional<SnapshotEntry>> future) {
    }

    /**
     * Completes with the snapshot of {@code slot} once the view has one, or with empty once the view,
     * at {@code minRevision} or later, has neither the snapshot nor a claim for it.
     */
    CompletableFuture<Optional<SnapshotEntry>> awaitSnapshot(String slot, long minRevision) {
        CompletableFuture<Optional<SnapshotEntry>> f = new CompletableFuture<>();
        execute(() -> {
            if (closed) {
                f.complete(Optional.empty());
                return;
            }
            Waiter w = new Waiter(slot, minRevision, f);
            if (!evaluate(w)) {
                waiters.add(w);
            }
        });
        return f;
    }

    private void evaluateWaiters() {
        waiters.removeIf(w -> w.future.isDone() || evaluate(w));
    }

    /** @return whether the waiter is done (completed now) */
    private boolean evaluate(Waiter w) {
        SnapshotEntry s = snapshots.get(w.slot);
        if (s != null) {
            w.future.complete(Optional.of(s));
            return true;
        }
        if (revision >= w.minRevision && !claims.containsKey(w.slot)) {
            w.future.complete(Optional.empty());
            return true;
        }
        return false;
    }

    // ---------------------------------------------------------------- helpers

    private void execute(Runnable r) {
        try {
            events.execute(() -> {
                try {
                    r.run();
                } catch (RuntimeException ex) {
                    LOG.log(Level.WARNING, "cluster view task failed", ex);
                }
            });
        } catch (RejectedExecutionException ex) {
            // closed
        }
    }

    /** Subscribes on the events thread: the replay of the current state, then changes, with nothing in between. */
    <E> Subscription subscribe(Listeners<E> listeners, Consumer<E> listener, java.util.function.Supplier<List<E>> replay) {
        Objects.requireNonNull(listener, "listener");
        Listeners.Entry<E> entry = listeners.newEntry(listener);
        execute(() -> {
            for (E e : replay.get()) {
                entry.deliver(e);
            }
            listeners.add(entry);
        });
        return () -> {
            entry.close();
            listeners.remove(entry);
        };
    }

    /** Listeners of one kind of event; called on the events thread only. */
    static final class Listeners<E> {
        private final String kind;
        private final CopyOnWriteArrayList<Entry<E>> entries = new CopyOnWriteArrayList<>();

        Listeners(String kind) {
            this.kind = kind;
        }

        Entry<E> newEntry(Consumer<E> listener) {
            return new Entry<>(kind, listener);
        }

        void add(Entry<E> e) {
            if (!e.closed) {
                entries.add(e);
            }
        }

        void remove(Entry<E> e) {
            entries.remove(e);
        }

        void emit(E event) {
            for (Entry<E> e : entries) {
                e.deliver(event);
            }
        }

        static final class Entry<E> {
            private final String kind;
            private final Consumer<E> listener;
            private volatile boolean closed;

            Entry(String kind, Consumer<E> listener) {
                this.kind = kind;
                this.listener = listener;
            }

            void deliver(E event) {
                if (closed) {
                    return;
                }
                try {
                    listener.accept(event);
                } catch (RuntimeException ex) {
                    LOG.log(Level.WARNING, "a " + kind + " listener failed on " + event, ex);
                }
            }

            void close() {
                closed = true;
            }
        }
    }
}
