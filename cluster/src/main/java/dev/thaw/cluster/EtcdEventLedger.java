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
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/*
 * Events, per node N and request id R, under keys.events(N) (outside the watched prefix):
 *
 *   record  put    E N/R = event
 *   forget  delete E N/R
 *   adopt   for each E F/R read:
 *           If    mod revision of E F/R == the one read
 *           Then  delete E F/R, put E me/R = the value read
 * An adoption that lost its compare (another node took the event, or F changed it) moves nothing.
 */
/** The {@link EventLedger} implementation. */
final class EtcdEventLedger implements EventLedger {
    /** Request ids as the node makes them (UUIDs), and nothing that could reach another key. */
    private static final java.util.regex.Pattern REQUEST_ID = java.util.regex.Pattern.compile("[A-Za-z0-9-]{1,64}");

    private final ClusterConfig config;
    private final Keys keys;
    private final Session session;

    EtcdEventLedger(ClusterConfig config, Keys keys, Session session) {
        this.config = config;
        this.keys = keys;
        this.session = session;
    }

    @Override
    public void record(String requestId, byte[] event) {
        String key = keys.event(config.nodeId(), requestId(requestId));
        Checks.notNull("event", event);
        session.call("record event " + requestId, c -> c.getKVClient().put(Keys.bytes(key), ByteSequence.from(event)));
    }

    @Override
    public void forget(String requestId) {
        String key = keys.event(config.nodeId(), requestId(requestId));
        session.call("forget event " + requestId, c -> c.getKVClient().delete(Keys.bytes(key)));
    }

    @Override
    public Map<String, byte[]> recorded() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (KeyValue kv : list(keys.events(config.nodeId()), "list this node's events").getKvs()) {
            out.put(requestIdOf(kv), kv.getValue().getBytes());
        }
        return out;
    }

    @Override
    public Set<String> owners() {
        String root = keys.eventsRoot();
        GetResponse r = session.call("list the nodes with events", c -> c.getKVClient().get(Keys.bytes(root),
                GetOption.builder().isPrefix(true).withKeysOnly(true).build()));
        Set<String> out = new TreeSet<>();
        for (KeyValue kv : r.getKvs()) {
            String rest = Keys.string(kv.getKey()).substring(root.length());
            int slash = rest.indexOf('/');
            if (slash > 0) {
                out.add(rest.substring(0, slash));
            }
        }
        return out;
    }

    @Override
    public Map<String, byte[]> adopt(String from) {
        Checks.id("node id", from);
        if (from.equals(config.nodeId())) {
            throw new IllegalArgumentException("a node does not adopt its own events");
        }
        Map<String, byte[]> got = new LinkedHashMap<>();
        for (KeyValue kv : list(keys.events(from), "list the events of node " + from).getKvs()) {
            String id = requestIdOf(kv);
            ByteSequence theirs = kv.getKey();
            ByteSequence mine = Keys.bytes(keys.event(config.nodeId(), id));
            long mod = kv.getModRevision();
            TxnResponse r = session.call("adopt event " + id + " of node " + from, c -> c.getKVClient().txn()
                    .If(new Cmp(theirs, Cmp.Op.EQUAL, CmpTarget.modRevision(mod)))
                    .Then(Op.delete(theirs, DeleteOption.DEFAULT), Op.put(mine, kv.getValue(), PutOption.DEFAULT))
                    .commit());
            if (r.isSucceeded()) {
                got.put(id, kv.getValue().getBytes());
            }
        }
        return got;
    }

    private GetResponse list(String prefix, String what) {
        return session.call(what, c -> c.getKVClient().get(Keys.bytes(prefix), GetOption.builder().isPrefix(true).build()));
    }

    private static String requestIdOf(KeyValue kv) {
        String key = Keys.string(kv.getKey());
        return key.substring(key.lastIndexOf('/') + 1);
    }

    private static String requestId(String id) {
        if (id == null || !REQUEST_ID.matcher(id).matches()) {
            throw new IllegalArgumentException("a request id is 1-64 letters, digits or '-', got " + Checks.quote(id));
        }
        return id;
    }
}
