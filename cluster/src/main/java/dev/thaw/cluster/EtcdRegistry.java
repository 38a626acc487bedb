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
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/*
 * Deploys are compare-and-swap transactions on the function's current key:
 *
 *   If    current's mod revision == the one read (create revision == 0 when absent)
 *   Then  put current = v(N+1), put versions/<name>/<N+1> = v(N+1)
 *   Else  get current
 *
 * A loser reads the winner's record from its Else branch and tries again with the next number, at
 * once for the first few attempts, then after a short random pause (1-2 ms times the attempt) so
 * that a crowd of deployers spreads out. Both keys change in one revision, so the watch sees the
 * history and the current record move together. Nothing depends on a node's clock.
 *
 * A delete is the same kind of transaction: the current key becomes a tombstone that keeps the last
 * version number, and the function's versions, snapshot entries and claims are deleted with it.
 */
/** The {@link FunctionRegistry} implementation. */
final class EtcdRegistry implements FunctionRegistry {
    static final int MAX_ATTEMPTS = 64;

    private final ClusterConfig config;
    private final Keys keys;
    private final Session session;
    private final View view;

    EtcdRegistry(ClusterConfig config, Keys keys, Session session, View view) {
        this.config = config;
        this.keys = keys;
        this.session = session;
        this.view = view;
    }

    @Override
    public FunctionVersion deploy(Deployment d) {
        Checks.notNull("deployment", d);
        String what = "deploy '" + d.name() + "'";
        String key = keys.function(d.name());
        ByteSequence current = Keys.bytes(key);
        KeyValue kv = first(session.call(what, c -> c.getKVClient().get(current)));
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            long next;
            Cmp cmp;
            if (kv == null) {
                next = 1;
                cmp = new Cmp(current, Cmp.Op.EQUAL, CmpTarget.createRevision(0));
            } else {
                next = Codec.function(key, kv.getValue()).version() + 1;
                cmp = new Cmp(current, Cmp.Op.EQUAL, CmpTarget.modRevision(kv.getModRevision()));
            }
            FunctionVersion v = new FunctionVersion(d.name(), next, d.manifest(), d.codeHash(), d.codeSize(), d.codeKey(),
                    config.nodeId(), config.clock().instant());
            ByteSequence value = Codec.function(v);
            TxnResponse r = session.call(what, c -> c.getKVClient().txn()
                    .If(cmp)
                    .Then(Op.put(current, value, PutOption.DEFAULT),
                            Op.put(Keys.bytes(keys.version(d.name(), next)), value, PutOption.DEFAULT))
                    .Else(Op.get(current, GetOption.DEFAULT))
                    .commit());
            if (r.isSucceeded()) {
                return v;
            }
            kv = first(r.getGetResponses().get(0));
            if (attempt >= 4) {
                LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(1_000_000L, 2_000_000L) * attempt);
            }
        }
        throw new ClusterException.Conflict(what + ": concurrent deploys won " + MAX_ATTEMPTS + " attempts in a row");
    }

    @Override
    public Optional<FunctionVersion> current(String name) {
        Checks.function(name);
        String key = keys.function(name);
        try {
            KeyValue kv = first(session.call("read function '" + name + "'", c -> c.getKVClient().get(Keys.bytes(key))));
            return kv == null ? Optional.empty() : live(Codec.function(key, kv.getValue()));
        } catch (ClusterException.Unavailable e) {
            return Optional.ofNullable(view.functions.get(name));
        }
    }

    @Override
    public Optional<FunctionVersion> version(String name, long version) {
        Checks.function(name);
        Checks.version(version);
        String key = keys.version(name, version);
        try {
            KeyValue kv = first(session.call("read version " + version + " of '" + name + "'",
                    c -> c.getKVClient().get(Keys.bytes(key))));
            return kv == null ? Optional.empty() : live(Codec.function(key, kv.getValue()));
        } catch (ClusterException.Unavailable e) {
            return Optional.ofNullable(view.functions.get(name)).filter(f -> f.version() == version);
        }
    }

    @Override
    public List<FunctionVersion> list() {
        String prefix = keys.kind(Keys.FUNCTIONS);
        try {
            GetResponse r = session.call("list functions", c -> c.getKVClient().get(Keys.bytes(prefix),
                    GetOption.builder().isPrefix(true).build()));
            List<FunctionVersion> out = new ArrayList<>();
            for (KeyValue kv : r.getKvs()) {
                live(Codec.function(Keys.string(kv.getKey()), kv.getValue())).ifPresent(out::add);
            }
            return List.copyOf(out);                  // etcd returns keys sorted, so by name
        } catch (ClusterException.Unavailable e) {
            return List.copyOf(view.functions.values());
        }
    }

    @Override
    public List<FunctionVersion> history(String name) {
        Checks.function(name);
        String prefix = keys.versions(name);
        GetResponse r = session.call("read the history of '" + name + "'", c -> c.getKVClient().get(Keys.bytes(prefix),
                GetOption.builder().isPrefix(true).build()));
        List<FunctionVersion> out = new ArrayList<>();
        for (KeyValue kv : r.getKvs()) {
            live(Codec.function(Keys.string(kv.getKey()), kv.getValue())).ifPresent(out::add);
        }
        return List.copyOf(out);                      // zero-padded version keys: oldest first
    }

    @Override
    public boolean delete(String name) {
        Checks.function(name);
        String what = "delete '" + name + "'";
        String key = keys.function(name);
        ByteSequence current = Keys.bytes(key);
        KeyValue kv = first(session.call(what, c -> c.getKVClient().get(current)));
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            if (kv == null) {
                return false;
            }
            Codec.StoredFunction stored = Codec.function(key, kv.getValue());
            if (stored instanceof Codec.Tombstone) {
                return false;
            }
            ByteSequence tomb = Codec.tombstone(new Codec.Tombstone(name, stored.version(), config.nodeId(), config.clock().instant()));
            Cmp cmp = new Cmp(current, Cmp.Op.EQUAL, CmpTarget.modRevision(kv.getModRevision()));
            TxnResponse r = session.call(what, c -> c.getKVClient().txn()
                    .If(cmp)
                    .Then(Op.put(current, tomb, PutOption.DEFAULT),
                            deletePrefix(keys.versions(name)),
                            deletePrefix(keys.snapshots(name)),
                            deletePrefix(keys.claims(name)),
                            deletePrefix(keys.warmings(name)),
                            deletePrefix(keys.aliases(name)))
                    .Else(Op.get(current, GetOption.DEFAULT))
                    .commit());
            if (r.isSucceeded()) {
                return true;
            }
            kv = first(r.getGetResponses().get(0));
        }
        throw new ClusterException.Conflict(what + ": concurrent deploys won " + MAX_ATTEMPTS + " attempts in a row");
    }

    @Override
    public Optional<Long> setAlias(String name, String alias, long version) {
        Checks.function(name);
        Checks.alias(alias);
        Checks.version(version);
        String what = "point alias '" + alias + "' of '" + name + "' to version " + version;
        String key = keys.alias(name, alias);
        AliasEntry entry = new AliasEntry(name, alias, version, config.nodeId(), config.clock().instant());
        ByteSequence versionKey = Keys.bytes(keys.version(name, version));
        TxnResponse r = session.call(what, c -> c.getKVClient().txn()
                .If(new Cmp(versionKey, Cmp.Op.GREATER, CmpTarget.createRevision(0)))
                .Then(Op.put(Keys.bytes(key), Codec.alias(entry), PutOption.builder().withPrevKV().build()))
                .commit());
        if (!r.isSucceeded()) {
            throw new ClusterException.NotFound("function '" + name + "' has no version " + version + " in the cluster");
        }
        KeyValue before = r.getPutResponses().get(0).getPrevKv();
        return before == null || before.getKey().isEmpty() ? Optional.empty()
                : Optional.of(Codec.alias(key, before.getValue()).version());
    }

    @Override
    public Optional<Long> deleteAlias(String name, String alias) {
        Checks.function(name);
        Checks.alias(alias);
        String key = keys.alias(name, alias);
        var r = session.call("delete alias '" + alias + "' of '" + name + "'", c -> c.getKVClient().delete(Keys.bytes(key),
                DeleteOption.builder().withPrevKV(true).build()));
        return r.getPrevKvs().isEmpty() ? Optional.empty() : Optional.of(Codec.alias(key, r.getPrevKvs().get(0).getValue()).version());
    }

    @Override
    public SortedMap<String, Long> aliases(String name) {
        Checks.function(name);
        SortedMap<String, Long> out = new TreeMap<>();
        try {
            GetResponse r = session.call("read the aliases of '" + name + "'", c -> c.getKVClient().get(
                    Keys.bytes(keys.aliases(name)), GetOption.builder().isPrefix(true).build()));
            for (KeyValue kv : r.getKvs()) {
                AliasEntry a = Codec.alias(Keys.string(kv.getKey()), kv.getValue());
                out.put(a.alias(), a.version());
            }
        } catch (ClusterException.Unavailable e) {
            view.aliases.values().stream().filter(a -> a.function().equals(name)).forEach(a -> out.put(a.alias(), a.version()));
        }
        return out;
    }

    @Override
    public Subscription subscribe(Consumer<FunctionEvent> listener) {
        return view.subscribe(view.functionListeners, listener, () -> {
            List<FunctionEvent> replay = new ArrayList<>();
            view.functions.values().forEach(f -> replay.add(new FunctionEvent.Deployed(f)));
            view.aliases.values().forEach(a -> replay.add(new FunctionEvent.Aliased(a)));
            return replay;
        });
    }

    private static Op deletePrefix(String prefix) {
        return Op.delete(Keys.bytes(prefix), DeleteOption.builder().isPrefix(true).build());
    }

    private static Optional<FunctionVersion> live(Codec.StoredFunction f) {
        return f instanceof Codec.Live l ? Optional.of(l.function()) : Optional.empty();
    }

    static KeyValue first(GetResponse r) {
        return r.getKvs().isEmpty() ? null : r.getKvs().get(0);
    }
}
