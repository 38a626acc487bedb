package dev.thaw.cluster;

import java.lang.System.Logger.Level;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/*
 * Assembles a handle: a Session (connection, lease, member record; control thread), a View (watch,
 * local state, listeners; events thread) and the three facades over them. Threads, all daemons:
 * thaw-cluster-control-<node>, thaw-cluster-events-<node>, and thaw-cluster-etcd-<node>-N (jetcd's
 * executor, a cached pool), plus the Vert.x event loop of each jetcd client. close() stops them all.
 */
/** The {@link Coordination} implementation. */
final class EtcdCoordination implements Coordination {
    private static final System.Logger LOG = System.getLogger(EtcdCoordination.class.getName());

    private final ClusterConfig config;
    private final ScheduledExecutorService control;
    private final ScheduledExecutorService events;
    private final ExecutorService jetcdPool;
    final Session session;
    final View view;
    private final EtcdMembership membership;
    private final EtcdRegistry registry;
    private final EtcdCatalog catalog;
    private final EtcdEventLedger ledger;
    private volatile boolean closed;

    private EtcdCoordination(ClusterConfig config) {
        this.config = config;
        String node = config.nodeId();
        this.control = Executors.newSingleThreadScheduledExecutor(named("thaw-cluster-control-" + node));
        this.events = Executors.newSingleThreadScheduledExecutor(named("thaw-cluster-events-" + node));
        AtomicInteger n = new AtomicInteger();
        this.jetcdPool = Executors.newCachedThreadPool(r -> daemon(r, "thaw-cluster-etcd-" + node + "-" + n.incrementAndGet()));
        Keys keys = new Keys(config.keyPrefix());
        this.session = new Session(config, keys, control, jetcdPool);
        this.view = new View(config, keys, events, session);
        this.membership = new EtcdMembership(session, view);
        this.registry = new EtcdRegistry(config, keys, session, view);
        this.catalog = new EtcdCatalog(config, keys, session, view);
        this.ledger = new EtcdEventLedger(config, keys, session);
        session.wire(view, catalog::leaseLost, catalog::reconnected);
    }

    static Coordination connect(ClusterConfig config) {
        java.util.Objects.requireNonNull(config, "config");
        EtcdCoordination c = new EtcdCoordination(config);
        try {
            c.session.connect();
            c.view.firstLoad().get(config.callTimeout().toMillis() * 4, TimeUnit.MILLISECONDS);
            return c;
        } catch (TimeoutException e) {
            c.close();
            throw new ClusterException.Unavailable("connect to etcd at " + config.endpoints()
                    + ": the cluster view did not load within " + config.callTimeout().toMillis() * 4 + " ms", e);
        } catch (ExecutionException e) {
            c.close();
            throw new ClusterException.Unavailable("connect to etcd at " + config.endpoints() + ": " + e.getCause().getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            c.close();
            throw new ClusterException("connect to etcd at " + config.endpoints() + ": interrupted", e);
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    @Override
    public ClusterConfig config() {
        return config;
    }

    @Override
    public Membership membership() {
        return membership;
    }

    @Override
    public FunctionRegistry registry() {
        return registry;
    }

    @Override
    public SnapshotCatalog catalog() {
        return catalog;
    }

    @Override
    public EventLedger events() {
        return ledger;
    }

    @Override
    public ConnectionState connection() {
        return session.state();
    }

    @Override
    public Subscription onConnectionChange(Consumer<ConnectionState> listener) {
        return view.subscribe(view.stateListeners, listener, java.util.List::of);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (view.onEventsThread()) {
            throw new IllegalStateException("close() must not be called from a cluster listener");
        }
        closed = true;
        view.close();                      // first: callbacks of the closing client find the view closed
        try {
            session.close();
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, "closing the session: {0}", e.getMessage());
        }
        shutdown(control);
        shutdown(events);
        shutdown(jetcdPool);
    }

    private static void shutdown(ExecutorService e) {
        e.shutdown();
        try {
            if (!e.awaitTermination(2, TimeUnit.SECONDS)) {
                e.shutdownNow();
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            e.shutdownNow();
        }
    }

    /** @return the (only) thread of a single-thread executor */
    static Thread threadOf(ExecutorService single) {
        try {
            return single.submit(Thread::currentThread).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    private static ThreadFactory named(String name) {
        return r -> daemon(r, name);
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }
}
