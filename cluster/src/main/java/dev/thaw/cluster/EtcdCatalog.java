package dev.thaw.cluster;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/*
 * Claims and entries, per function version (name, version):
 *
 *   claim    If    snapshots/<v> absent and claims/<v> absent
 *            Then  put claims/<v> = {node, time, lease} under this handle's lease
 *            Else  get snapshots/<v>, get claims/<v>          (one revision: Published or Busy)
 *   publish  If    snapshots/<v> absent
 *            Then  put snapshots/<v>; and, if this handle holds the claim, a nested transaction that
 *                  deletes claims/<v> if its value is still the one this handle wrote
 *            Else  get snapshots/<v>
 *   release  If    claims/<v> == the value this handle wrote   Then delete claims/<v>
 *   claim to warm, and its release: as claim and release, on warming/<v>, with no condition on
 *            snapshots/<v> (the snapshot to warm is published)
 *   remove   If    snapshots/<v> mod revision == the one read (naming the broken snapshot id)
 *            Then  delete snapshots/<v>
 *   await    put waiters/<v>/<node> under this handle's lease, wait on the view, delete it (the
 *            first of this node's waits for <v> puts it, the last deletes it): the claimant's view
 *            shows who waits, so a claimant may hold its publish while nobody does
 *
 * A claim's value carries the lease id, so "the value this handle wrote" is unique: a release never
 * deletes a claim another node (or a later lease of this node) took since. Held claims are tracked
 * here; when the lease is lost they are gone from etcd too and are forgotten. A release that fails
 * because etcd is unreachable is retried on reconnection.
 *
 * awaitSnapshot is served by the view. A Busy answer records the claim's mod revision; the wait
 * treats "no claim in the view" as "free" only once the view has reached that revision, so a view
 * that lags behind the claim() call does not report a claim it has not seen yet as released.
 */
/** The {@link SnapshotCatalog} implementation. */
final class EtcdCatalog implements SnapshotCatalog {
    private static final System.Logger LOG = System.getLogger(EtcdCatalog.class.getName());

    private final ClusterConfig config;
    private final Keys keys;
    private final Session session;
    private final View view;
    /** Claim key -> the value this handle wrote there. */
    private final Map<String, ByteSequence> held = new ConcurrentHashMap<>();
    /** Claim key -> value, of releases that failed for etcd's sake; retried on reconnection. */
    private final Map<String, ByteSequence> pendingReleases = new ConcurrentHashMap<>();
    /** Claim key -> mod revision of the other node's claim a Busy answer saw. */
    private final Map<String, Long> busyRevisions = new ConcurrentHashMap<>();
    /** This node's waits going on per waiter key (see announceWait); guarded by itself. */
    private final Map<String, Integer> waitsByKey = new HashMap<>();

    EtcdCatalog(ClusterConfig config, Keys keys, Session session, View view) {
        this.config = config;
        this.keys = keys;
        this.session = session;
        this.view = view;
    }

    @Override
    public Optional<SnapshotEntry> find(String function, long version) {
        check(function, version);
        String key = keys.snapshot(function, version);
        try {
            KeyValue kv = EtcdRegistry.first(session.call("find the snapshot of " + function + "@" + version,
                    c -> c.getKVClient().get(Keys.bytes(key))));
            return kv == null ? Optional.empty() : Optional.of(Codec.snapshot(key, kv.getValue()));
        } catch (ClusterException.Unavailable e) {
            return Optional.ofNullable(view.snapshots.get(View.slot(function, version)));
        }
    }

    @Override
    public Optional<SnapshotEntry> seen(String function, long version) {
        check(function, version);
        return Optional.ofNullable(view.snapshots.get(View.slot(function, version)));
    }

    @Override
    public List<SnapshotEntry> list() {
        String prefix = keys.kind(Keys.SNAPSHOTS);
        try {
            GetResponse r = session.call("list snapshots", c -> c.getKVClient().get(Keys.bytes(prefix),
                    GetOption.builder().isPrefix(true).build()));
            List<SnapshotEntry> out = new ArrayList<>();
            for (KeyValue kv : r.getKvs()) {
                out.add(Codec.snapshot(Keys.string(kv.getKey()), kv.getValue()));
            }
            return List.copyOf(out);              // key order: function, then zero-padded version
        } catch (ClusterException.Unavailable e) {
            return List.copyOf(view.snapshots.values());
        }
    }

    @Override
    public Claim claim(String function, long version) {
        check(function, version);
        String what = "claim the boot of " + function + "@" + version;
        String sKey = keys.snapshot(function, version);
        String cKey = keys.claim(function, version);
        ByteSequence s = Keys.bytes(sKey);
        ByteSequence c = Keys.bytes(cKey);
        long lease = session.leaseId();
        if (lease == 0) {
            throw session.unavailable(what, session.state());
        }
        BootClaim mine = new BootClaim(function, version, config.nodeId(), config.clock().instant());
        ByteSequence value = Codec.claim(mine, lease);
        TxnResponse r = session.call(what, cl -> cl.getKVClient().txn()
                .If(new Cmp(s, Cmp.Op.EQUAL, CmpTarget.createRevision(0)), new Cmp(c, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
                .Then(Op.put(c, value, PutOption.builder().withLeaseId(lease).build()))
                .Else(Op.get(s, GetOption.DEFAULT), Op.get(c, GetOption.DEFAULT))
                .commit());
        if (r.isSucceeded()) {
            held.put(cKey, value);
            return new Claim.Won(mine);
        }
        KeyValue entry = EtcdRegistry.first(r.getGetResponses().get(0));
        if (entry != null) {
            return new Claim.Published(Codec.snapshot(sKey, entry.getValue()));
        }
        KeyValue holder = EtcdRegistry.first(r.getGetResponses().get(1));
        if (holder == null) {
            // cannot happen: the Else branch reads at the revision the comparison failed at
            throw new ClusterException(what + ": etcd reported neither a snapshot nor a claim", null);
        }
        busyRevisions.put(cKey, holder.getModRevision());
        return new Claim.Busy(Codec.claim(cKey, holder.getValue()));
    }

    @Override
    public Optional<SnapshotEntry> awaitSnapshot(String function, long version, Duration timeout) throws InterruptedException {
        check(function, version);
        Checks.notNull("timeout", timeout);
        if (view.onEventsThread()) {
            throw new IllegalStateException("awaitSnapshot must not be called from a cluster listener");
        }
        String cKey = keys.claim(function, version);
        CompletableFuture<Optional<SnapshotEntry>> f = view.awaitSnapshot(View.slot(function, version),
                busyRevisions.getOrDefault(cKey, 0L));
        String waiter = f.isDone() ? null : announceWait(function, version);
        try {
            return f.get(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            f.cancel(false);
            return Optional.empty();
        } catch (ExecutionException e) {
            throw new ClusterException("wait for the snapshot of " + function + "@" + version + ": " + e.getCause(), e.getCause());
        } finally {
            busyRevisions.remove(cKey);
            if (waiter != null) {
                withdrawWait(waiter, function, version);
            }
        }
    }

    /**
     * Tells the claimant that this node waits (its publish may be held while nobody does). Best
     * effort: without it the claimant publishes once its node is quiet, a little later.
     *
     * <p>Several waits of this node for one version share its key: the first writes it, the last
     * deletes it. A wait that ends early (a shorter timeout, an interrupt) must not withdraw the key
     * while another still waits, or the claimant would go on holding its publish against it. The
     * count and the etcd call that follows it are under one lock, so a delete and a put for the same
     * key reach etcd in the order of the counts; waits are rare (another node holds the boot claim).
     *
     * @return the waiter's key, or null when it could not be written
     */
    private String announceWait(String function, long version) {
        long lease = session.leaseId();
        if (lease == 0) {
            return null;
        }
        String key = keys.waiter(function, version, config.nodeId());
        synchronized (waitsByKey) {
            if (waitsByKey.merge(key, 1, Integer::sum) > 1) {
                return key; // written by a wait still going on
            }
            try {
                session.call("announce the wait for the snapshot of " + function + "@" + version,
                        c -> c.getKVClient().put(Keys.bytes(key), ByteSequence.EMPTY,
                                PutOption.builder().withLeaseId(lease).build()));
                return key;
            } catch (ClusterException e) {
                waitsByKey.remove(key);
                LOG.log(Level.DEBUG, "announcing a wait failed: {0}", e.getMessage());
                return null;
            }
        }
    }

    /** Best effort: a waiter's key left behind goes with this node's lease. */
    private void withdrawWait(String key, String function, long version) {
        synchronized (waitsByKey) {
            if (waitsByKey.computeIfPresent(key, (k, n) -> n == 1 ? null : n - 1) != null) {
                return; // another wait of this node goes on
            }
            try {
                session.call("end the wait for the snapshot of " + function + "@" + version,
                        c -> c.getKVClient().delete(Keys.bytes(key)));
            } catch (ClusterException e) {
                LOG.log(Level.DEBUG, "withdrawing a wait failed: {0}", e.getMessage());
            }
        }
    }

    @Override
    public boolean awaitedByOthers(String function, long version) {
        check(function, version);
        var nodes = view.awaiting.get(View.slot(function, version));
        return nodes != null && nodes.stream().anyMatch(n -> !n.equals(config.nodeId()));
    }

    @Override
    public SnapshotEntry publish(SnapshotEntry entry) {
        Checks.notNull("snapshot entry", entry);
        String what = "publish snapshot '" + entry.snapshotId() + "' of " + entry.function() + "@" + entry.version();
        String sKey = keys.snapshot(entry.function(), entry.version());
        String cKey = keys.claim(entry.function(), entry.version());
        ByteSequence s = Keys.bytes(sKey);
        ByteSequence c = Keys.bytes(cKey);
        ByteSequence mine = held.get(cKey);
        List<Op> then = new ArrayList<>();
        then.add(Op.put(s, Codec.snapshot(entry), PutOption.DEFAULT));
        if (mine != null) {
            then.add(Op.txn(new Cmp[] {new Cmp(c, Cmp.Op.EQUAL, CmpTarget.value(mine))},
                    new Op[] {Op.delete(c, DeleteOption.DEFAULT)}, new Op[0]));
        }
        TxnResponse r = session.call(what, cl -> cl.getKVClient().txn()
                .If(new Cmp(s, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
                .Then(then.toArray(Op[]::new))
                .Else(Op.get(s, GetOption.DEFAULT))
                .commit());
        if (r.isSucceeded()) {
            if (mine != null) {
                held.remove(cKey, mine);
            }
            return entry;
        }
        KeyValue existing = EtcdRegistry.first(r.getGetResponses().get(0));
        if (mine != null) {
            try {
                releaseKey(cKey, mine, what);
            } catch (ClusterException.Unavailable e) {
                LOG.log(Level.DEBUG, "releasing the claim after a lost publish failed: {0}", e.getMessage());
            }
        }
        return existing == null ? entry : Codec.snapshot(sKey, existing.getValue());
    }

    @Override
    public Optional<String> claimWarming(String function, long version) {
        check(function, version);
        String what = "claim the warming of " + function + "@" + version;
        String wKey = keys.warming(function, version);
        if (held.containsKey(wKey)) {
            return Optional.empty();
        }
        ByteSequence w = Keys.bytes(wKey);
        long lease = session.leaseId();
        if (lease == 0) {
            throw session.unavailable(what, session.state());
        }
        ByteSequence value = Codec.claim(new BootClaim(function, version, config.nodeId(), config.clock().instant()), lease);
        TxnResponse r = session.call(what, cl -> cl.getKVClient().txn()
                .If(new Cmp(w, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
                .Then(Op.put(w, value, PutOption.builder().withLeaseId(lease).build()))
                .Else(Op.get(w, GetOption.DEFAULT))
                .commit());
        if (r.isSucceeded()) {
            held.put(wKey, value);
            return Optional.empty();
        }
        KeyValue holder = EtcdRegistry.first(r.getGetResponses().get(0));
        // absent only if it went between the comparison and the read, which one transaction rules out
        return Optional.of(holder == null ? "(unknown)" : Codec.claim(wKey, holder.getValue()).nodeId());
    }

    @Override
    public void releaseWarming(String function, long version) {
        check(function, version);
        String wKey = keys.warming(function, version);
        ByteSequence mine = held.get(wKey);
        if (mine != null) {
            releaseKey(wKey, mine, "release the warming claim on " + function + "@" + version);
        }
    }

    @Override
    public void release(BootClaim claim) {
        Checks.notNull("claim", claim);
        String cKey = keys.claim(claim.function(), claim.version());
        ByteSequence mine = held.get(cKey);
        if (mine == null) {
            return;
        }
        releaseKey(cKey, mine, "release the claim on " + claim.function() + "@" + claim.version());
    }

    private void releaseKey(String cKey, ByteSequence mine, String what) {
        ByteSequence c = Keys.bytes(cKey);
        try {
            session.call(what, cl -> cl.getKVClient().txn()
                    .If(new Cmp(c, Cmp.Op.EQUAL, CmpTarget.value(mine)))
                    .Then(Op.delete(c, DeleteOption.DEFAULT))
                    .commit());
            held.remove(cKey, mine);
            pendingReleases.remove(cKey, mine);
        } catch (ClusterException.Unavailable e) {
            held.remove(cKey, mine);
            pendingReleases.put(cKey, mine);
            throw e;
        }
    }

    @Override
    public boolean remove(String function, long version, String snapshotId) {
        check(function, version);
        Checks.text("snapshot id", snapshotId);
        String sKey = keys.snapshot(function, version);
        return changeEntry("remove snapshot '" + snapshotId + "' of " + function + "@" + version, sKey,
                named -> named == null || !named.snapshotId().equals(snapshotId) ? Optional.of(false) : Optional.empty(),
                Op.delete(Keys.bytes(sKey), DeleteOption.DEFAULT));
    }

    @Override
    public boolean replace(SnapshotEntry entry, String replacedId) {
        Checks.notNull("snapshot entry", entry);
        Checks.text("replaced snapshot id", replacedId);
        String sKey = keys.snapshot(entry.function(), entry.version());
        return changeEntry("replace snapshot '" + replacedId + "' of " + entry.function() + "@" + entry.version() + " with '"
                        + entry.snapshotId() + "'", sKey,
                named -> named == null ? Optional.of(false)
                        // this call's own put, seen after a retry (not another node's of the same id)
                        : named.snapshotId().equals(entry.snapshotId()) ? Optional.of(named.takenBy().equals(entry.takenBy()))
                        : named.snapshotId().equals(replacedId) ? Optional.empty() : Optional.of(false),
                Op.put(Keys.bytes(sKey), Codec.snapshot(entry), PutOption.DEFAULT));
    }

    /**
     * Applies {@code change} to a version's entry by a compare-and-swap on its revision, retried while
     * other writers move it, for as long as {@code settled} says the entry it finds is the one to change.
     *
     * @param settled given the entry found (null for none): the answer without changing it, or empty to change it
     * @return the answer {@code settled} gave, or true once the change is made
     */
    private boolean changeEntry(String what, String sKey, java.util.function.Function<SnapshotEntry, Optional<Boolean>> settled,
                                Op change) {
        ByteSequence s = Keys.bytes(sKey);
        KeyValue kv = EtcdRegistry.first(session.call(what, c -> c.getKVClient().get(s)));
        for (int attempt = 1; attempt <= EtcdRegistry.MAX_ATTEMPTS; attempt++) {
            Optional<Boolean> answer = settled.apply(kv == null ? null : Codec.snapshot(sKey, kv.getValue()));
            if (answer.isPresent()) {
                return answer.get();
            }
            long mod = kv.getModRevision();
            TxnResponse r = session.call(what, c -> c.getKVClient().txn()
                    .If(new Cmp(s, Cmp.Op.EQUAL, CmpTarget.modRevision(mod)))
                    .Then(change)
                    .Else(Op.get(s, GetOption.DEFAULT))
                    .commit());
            if (r.isSucceeded()) {
                return true;
            }
            kv = EtcdRegistry.first(r.getGetResponses().get(0));
        }
        throw new ClusterException.Conflict(what + ": the entry kept changing for " + EtcdRegistry.MAX_ATTEMPTS + " attempts");
    }

    @Override
    public List<Member> cachedBy(String snapshotId) {
        Checks.text("snapshot id", snapshotId);
        return view.members.values().stream().filter(m -> m.caches(snapshotId)).toList();
    }

    @Override
    public Subscription subscribe(Consumer<CatalogEvent> listener) {
        return view.subscribe(view.catalogListeners, listener, () -> {
            List<CatalogEvent> replay = new ArrayList<>();
            view.snapshots.values().forEach(e -> replay.add(new CatalogEvent.Published(e)));
            return replay;
        });
    }

    /** The session's lease is gone (expired, revoked, or replaced): so are the claims under it. */
    void leaseLost() {
        held.clear();
        pendingReleases.clear();
    }

    /** The session reconnected with its old lease: retry the releases that failed meanwhile (off the control thread). */
    void reconnected() {
        if (pendingReleases.isEmpty()) {
            return;
        }
        Map<String, ByteSequence> todo = Map.copyOf(pendingReleases);
        Thread.ofVirtual().name("thaw-cluster-release-" + config.nodeId()).start(() -> todo.forEach((k, v) -> {
            try {
                releaseKey(k, v, "release the claim at " + k);
            } catch (RuntimeException e) {
                LOG.log(Level.DEBUG, "retrying a claim release failed: {0}", e.getMessage());
            }
        }));
    }

    private static void check(String function, long version) {
        Checks.function(function);
        Checks.version(version);
    }
}
