package dev.thaw.cluster;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.common.exception.EtcdExceptionFactory;
import io.etcd.jetcd.options.PutOption;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/*
 * The connection to etcd, the handle's lease and this node's member record.
 *
 * Threading. Every change of session state happens on one thread, "control" (a single-thread
 * scheduler): connecting, the keep-alive tick, reconnecting, lease renewal, member writes. Fields
 * other threads read are volatile; nothing else is shared. Callers' threads run their own etcd calls
 * (call()) and hand work to the control thread (join, updateNow, leave) by submitting it and waiting.
 * The control thread never waits for the events thread, so a listener may call any blocking method.
 *
 * Why our own keep-alive. jetcd's Lease.keepAlive runs one stream for all leases and drops a lease
 * whose response is late without telling whether the lease lives; its stream can stop silently
 * after a reconnection. So the session renews its lease itself: every TTL/3 the control thread calls
 * keepAliveOnce (one short stream per renewal) and waits at most callTimeout. The outcome is always
 * known: renewed; "lease not found" (it expired while etcd was paused, or someone revoked it), after
 * which a new lease is granted and the member record written under it; or a failure, after which the
 * session counts as disconnected. A renewal that has not succeeded for a whole TTL also counts as a
 * failure (the watchdog of last resort, should the tick itself be starved).
 *
 * Why a fresh client per connection. gRPC backs off its own reconnection attempts up to two minutes,
 * jetcd's watches and keep-alive retry on their own timers, and a call waits for a connection unless
 * told not to: together they make a client that is slow to notice etcd's return, or busy while
 * etcd is away. So the session owns reconnection: on a failure it closes the client (every stream and
 * timer of it goes), probes the endpoints with a plain TCP connect under its own exponential backoff
 * (reconnectBackoffMin doubling to reconnectBackoffMax, with jitter), and only when one accepts builds a
 * new client and checks etcd over gRPC: renew the old lease if it still exists, else grant a new one,
 * re-write the member record, then let the view resume its watch from the last revision it saw.
 * While disconnected the process does nothing but a TCP connect every couple of seconds.
 *
 * Calls fail fast. Clients are built with waitForReady off and no jetcd retries: a call on a broken
 * connection fails at once, and every call is bounded by callTimeout. While the state is not
 * CONNECTED, call() throws Unavailable without touching the network. A call that fails for
 * connection reasons makes the control thread check the connection at once (checkSoon), so a dead
 * etcd is noticed by the first call that meets it, not only by the next tick.
 */
/** The handle's connection, lease and member registration. */
final class Session {
    private static final System.Logger LOG = System.getLogger(Session.class.getName());

    static {
        // jetcd runs on Vert.x, whose file resolver makes a cache directory in java.io.tmpdir for the
        // class path resources it serves as files. jetcd serves none, and a node killed with SIGKILL
        // left its directory behind; unless the operator chose otherwise, there is none.
        if (System.getProperty("vertx.disableFileCPResolving") == null) {
            System.setProperty("vertx.disableFileCPResolving", "true");
        }
    }

    private final ClusterConfig config;
    private final Keys keys;
    private final ScheduledExecutorService control;
    private final ExecutorService jetcdPool;
    private View view;
    private Runnable onLeaseLost = () -> { };
    private Runnable onReconnected = () -> { };

    // written on the control thread only (desired also by update() under recordLock)
    private volatile Client client;
    private volatile int epoch;
    private volatile long leaseId;
    private volatile ConnectionState state;
    private volatile Member desired;
    private volatile boolean joined;
    private long lastRenewalNanos;
    private long lastWriteNanos;
    private Duration backoff;
    private ScheduledFuture<?> tickTask;
    private ScheduledFuture<?> reconnectTask;
    private ScheduledFuture<?> writeTask;
    private boolean closed;
    private final Thread controlThread;
    /** Guards the read-modify-write of the desired member record. */
    private final Object recordLock = new Object();

    // counters, for tests and diagnostics
    private final AtomicLong reconnects = new AtomicLong();
    private final AtomicLong clientsBuilt = new AtomicLong();

    Session(ClusterConfig config, Keys keys, ScheduledExecutorService control, ExecutorService jetcdPool) {
        this.config = config;
        this.keys = keys;
        this.control = control;
        this.jetcdPool = jetcdPool;
        this.backoff = config.reconnectBackoffMin();
        this.state = new ConnectionState(ConnectionState.Status.DISCONNECTED, config.clock().instant(), "not connected yet");
        this.controlThread = EtcdCoordination.threadOf(control);
    }

    void wire(View view, Runnable onLeaseLost, Runnable onReconnected) {
        this.view = view;
        this.onLeaseLost = onLeaseLost;
        this.onReconnected = onReconnected;
    }

    // ---------------------------------------------------------------- state read by any thread

    ConnectionState state() {
        return state;
    }

    long leaseId() {
        return leaseId;
    }

    boolean isJoined() {
        return joined;
    }

    java.util.Optional<Member> self() {
        return joined ? java.util.Optional.ofNullable(desired) : java.util.Optional.empty();
    }

    boolean onControlThread() {
        return Thread.currentThread() == controlThread;
    }

    long reconnects() {
        return reconnects.get();
    }

    long clientsBuilt() {
        return clientsBuilt.get();
    }

    // ---------------------------------------------------------------- calls from callers' threads

    /**
     * Runs one etcd operation on the current client, bounded by callTimeout.
     *
     * @param what what is being done, for messages ("deploy 'hello'")
     * @throws ClusterException.Unavailable at once while disconnected, or when the call fails for connection reasons
     * @throws ClusterException when etcd refuses the operation
     */
    <T> T call(String what, Function<Client, CompletableFuture<T>> op) {
        ConnectionState s = state;
        if (s.status() == ConnectionState.Status.CLOSED) {
            throw closedError(what);
        }
        Client c = client;
        int e = epoch;
        if (s.status() != ConnectionState.Status.CONNECTED || c == null) {
            throw unavailable(what, s);
        }
        CompletableFuture<T> f;
        try {
            f = op.apply(c);
        } catch (RuntimeException ex) {
            throw classify(what, ex, e);
        }
        return await(what, f, e);
    }

    <T> T await(String what, Future<T> f, int e) {
        try {
            return f.get(config.callTimeout().toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException ex) {
            f.cancel(true);
            checkSoon(e);
            throw new ClusterException.Unavailable(what + ": etcd at " + config.endpoints() + " did not answer within "
                    + config.callTimeout().toMillis() + " ms", ex);
        } catch (ExecutionException ex) {
            throw classify(what, ex.getCause(), e);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new ClusterException(what + ": interrupted", ex);
        }
    }

    private RuntimeException classify(String what, Throwable t, int e) {
        if (t instanceof ClusterException c) {
            return c;
        }
        EtcdException ee = EtcdExceptionFactory.toEtcdException(t);
        if (isConnectionFailure(ee) || isLeaseNotFound(ee)) {
            checkSoon(e);
            return new ClusterException.Unavailable(what + ": etcd at " + config.endpoints() + " failed: " + describe(ee), t);
        }
        return new ClusterException(what + ": etcd refused it: " + describe(ee), t);
    }

    ClusterException.Unavailable unavailable(String what, ConnectionState s) {
        return new ClusterException.Unavailable(what + ": etcd at " + config.endpoints() + " is unreachable since "
                + s.since() + " (" + s.reason() + ")", null);
    }

    IllegalStateException closedError(String what) {
        return new IllegalStateException(what + ": the coordination handle of node '" + config.nodeId() + "' is closed");
    }

    static boolean isConnectionFailure(EtcdException e) {
        ErrorCode code = e.getErrorCode();
        return code == ErrorCode.UNAVAILABLE || code == ErrorCode.DEADLINE_EXCEEDED || code == ErrorCode.CANCELLED
                || code == ErrorCode.ABORTED || (code == ErrorCode.UNKNOWN && e.getCause() != null);
    }

    static boolean isLeaseNotFound(EtcdException e) {
        return e.getErrorCode() == ErrorCode.NOT_FOUND && String.valueOf(e.getMessage()).contains("lease not found");
    }

    static String describe(Throwable t) {
        EtcdException ee = EtcdExceptionFactory.toEtcdException(t);
        String m = ee.getMessage();
        if ((m == null || m.isBlank()) && ee.getCause() != null) {
            m = ee.getCause().getClass().getSimpleName() + (ee.getCause().getMessage() == null ? "" : ": " + ee.getCause().getMessage());
        }
        return ee.getErrorCode() + (m == null || m.isBlank() ? "" : " (" + m + ")");
    }

    /** Makes the control thread check the connection now (a call of epoch {@code e} met a failure). */
    void checkSoon(int e) {
        execute(() -> {
            if (e == epoch && state.isConnected()) {
                tick();
            }
        });
    }

    // ---------------------------------------------------------------- connect and close

    /** Connects: builds the client, grants the lease. Runs on the control thread; throws Unavailable on failure. */
    void connect() {
        submitAndWait("connect to etcd", () -> {
            Client c = newClient();
            int e = ++epoch;
            try {
                long lease = awaitOnControl("grant a lease", c.getLeaseClient().grant(ttlSeconds()), e, establishTimeout()).getID();
                        leaseId = lease;
                lastRenewalNanos = System.nanoTime();
                client = c;
                setState(ConnectionState.Status.CONNECTED, "");
                scheduleTick();
                LOG.log(Level.INFO, "node {0} connected to etcd at {1} (lease {2}, TTL {3} s)", config.nodeId(),
                        config.endpoints(), Long.toHexString(lease), ttlSeconds());
                return null;
            } catch (RuntimeException ex) {
                c.close();
                throw ex;
            }
        });
        view.resume(epoch, client, 0);
    }

    /** Leaves if joined (best effort), stops every timer and closes the client. */
    void close() {
        submitAndWait("close", () -> {
            if (closed) {
                return null;
            }
            boolean wasJoined = joined;
            joined = false;
            if (wasJoined && state.isConnected()) {
                try {
                    revokeLease();
                } catch (RuntimeException ex) {
                    LOG.log(Level.DEBUG, "revoking the lease on close failed: {0}", ex.getMessage());
                }
            }
            closed = true;
            cancel(tickTask);
            cancel(reconnectTask);
            cancel(writeTask);
            Client c = client;
            client = null;
            if (c != null) {
                c.close();
            }
            setState(ConnectionState.Status.CLOSED, "");
            return null;
        });
    }

    private Client newClient() {
        clientsBuilt.incrementAndGet();
        return Client.builder()
                .endpoints(config.endpoints().toArray(URI[]::new))
                .waitForReady(false)          // fail at once on a broken connection: no call waits for etcd's return
                .retryMaxAttempts(0)          // the session, not jetcd, decides when to try again
                .connectTimeout(config.callTimeout())
                .executorService(jetcdPool)
                .build();
    }

    // ---------------------------------------------------------------- membership (control thread)

    void join(Member self) {
        if (!self.id().equals(config.nodeId())) {
            throw new IllegalArgumentException("member id must be this node's id '" + config.nodeId() + "', got '" + self.id() + "'");
        }
        failFastIfDisconnected("join the cluster as '" + self.id() + "'");
        submitAndWait("join the cluster as '" + self.id() + "'", () -> {
            checkOpen("join");
            if (joined) {
                throw new IllegalStateException("node '" + config.nodeId() + "' has already joined");
            }
            requireConnected("join the cluster as '" + self.id() + "'");
            putMember(self, "join the cluster as '" + self.id() + "'");
            desired = self;
            joined = true;
            return null;
        });
    }

    void update(UnaryOperator<Member> change) {
        synchronized (recordLock) {
            desired = applyChange(change);
        }
        execute(this::requestWrite);
    }

    void updateNow(UnaryOperator<Member> change) {
        String what = "update the record of node '" + config.nodeId() + "'";
        synchronized (recordLock) {
            desired = applyChange(change);    // kept, and written on reconnection, if what follows fails
        }
        failFastIfDisconnected(what);
        submitAndWait(what, () -> {
            requireConnected(what);
            putMember(desired, what);
            return null;
        });
    }

    void leave() {
        submitAndWait("leave the cluster", () -> {
            if (!joined) {
                return null;
            }
            joined = false;
            cancel(writeTask);
            writeTask = null;
            if (!state.isConnected() || client == null) {
                // the lease is never renewed again: it expires, and the record with it
                leaseId = 0;
                onLeaseLost.run();
                throw unavailable("leave the cluster (the record of node '" + config.nodeId() + "' expires within "
                        + ttlSeconds() + " s)", state);
            }
            revokeLease();
            try {
                grantLease();
            } catch (RuntimeException ex) {
                LOG.log(Level.DEBUG, "no new lease after leaving ({0}); the next tick grants one", ex.getMessage());
            }
            return null;
        });
    }

    private Member applyChange(UnaryOperator<Member> change) {
        Member current = desired;
        if (!joined || current == null) {
            throw new IllegalStateException("node '" + config.nodeId() + "' has not joined the cluster");
        }
        Member next = change.apply(current);
        if (next == null || !next.id().equals(current.id())) {
            throw new IllegalArgumentException("a member update must keep the id '" + current.id() + "', got "
                    + (next == null ? "null" : "'" + next.id() + "'"));
        }
        return next;
    }

    /** Writes the desired record now if the rate limit allows, else once it does. */
    private void requestWrite() {
        if (closed || !joined || !state.isConnected()) {
            return;                          // written on reconnection
        }
        long wait = lastWriteNanos + config.memberUpdateInterval().toNanos() - System.nanoTime();
        if (wait > 0) {
            if (writeTask == null || writeTask.isDone()) {
                writeTask = control.schedule(this::requestWrite, wait, TimeUnit.NANOSECONDS);
            }
            return;
        }
        Member m = desired;
        int e = epoch;
        lastWriteNanos = System.nanoTime();
        client.getKVClient().put(Keys.bytes(keys.member(m.id())), Codec.member(m), PutOption.builder().withLeaseId(leaseId).build())
                .orTimeout(config.callTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .whenComplete((r, t) -> {
                    if (t != null) {
                        LOG.log(Level.DEBUG, "writing the member record failed: {0}", describe(t));
                        checkSoon(e);
                    }
                });
    }

    /** Puts the member record under the lease; renews the lease once if etcd says it is gone. */
    private void putMember(Member m, String what) {
        ByteSequence key = Keys.bytes(keys.member(m.id()));
        try {
            awaitOnControl(what, client.getKVClient().put(key, Codec.member(m), PutOption.builder().withLeaseId(leaseId).build()), epoch);
        } catch (ClusterException.Unavailable ex) {
            if (!causedByLeaseNotFound(ex)) {
                throw ex;
            }
            grantLease();
            awaitOnControl(what, client.getKVClient().put(key, Codec.member(m), PutOption.builder().withLeaseId(leaseId).build()), epoch);
        }
        lastWriteNanos = System.nanoTime();
    }

    private static boolean causedByLeaseNotFound(Throwable t) {
        return t != null && t.getCause() != null && isLeaseNotFound(EtcdExceptionFactory.toEtcdException(t.getCause()));
    }

    /** The watch saw this node's record deleted while joined: make sure the lease lives, and write it again. */
    void ownRecordDeleted() {
        execute(() -> {
            if (closed || !joined || !state.isConnected()) {
                return;
            }
            LOG.log(Level.INFO, "the record of node {0} was deleted; checking the lease", config.nodeId());
            if (tick()) {
                try {
                    putMember(desired, "re-register node '" + config.nodeId() + "'");
                } catch (RuntimeException ex) {
                    LOG.log(Level.DEBUG, "re-registering failed: {0}", ex.getMessage());
                }
            }
        });
    }

    // ---------------------------------------------------------------- lease (control thread)

    private long ttlSeconds() {
        return config.leaseTtl().toSeconds();
    }

    private void scheduleTick() {
        cancel(tickTask);
        long period = Math.max(100, config.leaseTtl().toMillis() / 3);
        tickTask = control.scheduleWithFixedDelay(this::tick, period, period, TimeUnit.MILLISECONDS);
    }

    /**
     * Renews the lease once. Renewed: true. Lease gone: grants a new one and re-registers (true when
     * that worked). Any other failure, or no renewal for a whole TTL: disconnected (false).
     */
    private boolean tick() {
        if (closed || !state.isConnected()) {
            return false;
        }
        int e = epoch;
        long silentNanos = System.nanoTime() - lastRenewalNanos;
        if (silentNanos > config.leaseTtl().toNanos()) {
            disconnect(e, "the lease was not renewed for " + TimeUnit.NANOSECONDS.toMillis(silentNanos) + " ms");
            return false;
        }
        try {
            if (leaseId == 0) {
                grantLease();
                reRegister();
                return true;
            }
            awaitOnControl("renew the lease", client.getLeaseClient().keepAliveOnce(leaseId), e);
            lastRenewalNanos = System.nanoTime();
            return true;
        } catch (ClusterException ex) {
            if (causedByLeaseNotFound(ex)) {
                LOG.log(Level.WARNING, "lease {0} of node {1} is gone (expired or revoked); taking a new one",
                        Long.toHexString(leaseId), config.nodeId());
                try {
                    grantLease();
                    reRegister();
                    return true;
                } catch (ClusterException again) {
                    disconnect(e, again.getMessage());
                    return false;
                }
            }
            disconnect(e, ex.getMessage());
            return false;
        }
    }

    private void grantLease() {
        long old = leaseId;
        leaseId = awaitOnControl("grant a lease", client.getLeaseClient().grant(ttlSeconds()), epoch).getID();
        lastRenewalNanos = System.nanoTime();
        if (old != 0 && old != leaseId) {
            onLeaseLost.run();
        }
    }

    private void revokeLease() {
        long lease = leaseId;
        leaseId = 0;                          // never renewed again, whatever happens next
        onLeaseLost.run();
        awaitOnControl("revoke lease " + Long.toHexString(lease), client.getLeaseClient().revoke(lease), epoch);
    }

    private void reRegister() {
        if (joined && desired != null) {
            putMember(desired, "re-register node '" + config.nodeId() + "'");
        }
    }

    // ---------------------------------------------------------------- disconnect and reconnect (control thread)

    private void disconnect(int e, String reason) {
        if (closed || e != epoch || !state.isConnected()) {
            return;
        }
        LOG.log(Level.WARNING, "node {0} lost etcd at {1}: {2}", config.nodeId(), config.endpoints(), reason);
        setState(ConnectionState.Status.DISCONNECTED, reason);
        cancel(tickTask);
        cancel(writeTask);
        writeTask = null;
        view.suspend(e);
        Client c = client;
        client = null;
        if (c != null) {
            c.close();
        }
        backoff = config.reconnectBackoffMin();
        scheduleReconnect();
    }

    private void scheduleReconnect() {
        long ms = backoff.toMillis();
        long jittered = ms - ms / 5 + ThreadLocalRandom.current().nextLong(ms / 5 * 2 + 1);
        reconnectTask = control.schedule(this::reconnect, jittered, TimeUnit.MILLISECONDS);
        Duration doubled = backoff.multipliedBy(2);
        backoff = doubled.compareTo(config.reconnectBackoffMax()) > 0 ? config.reconnectBackoffMax() : doubled;
    }

    private void reconnect() {
        if (closed || state.isConnected()) {
            return;
        }
        String refused = probeEndpoints();
        if (refused != null) {
            note(refused);
            scheduleReconnect();
            return;
        }
        reconnects.incrementAndGet();
        Client c = newClient();
        int e = ++epoch;
        client = c;
        long serverRevision;
        try {
            // the first call sets the connection up: bounded by establishTimeout; etcd's revision now tells
            // the view to reload rather than resume if etcd came back with less than it saw
            serverRevision = awaitOnControl("reach etcd", c.getKVClient().get(Keys.bytes(keys.prefix()),
                    io.etcd.jetcd.options.GetOption.builder().withCountOnly(true).build()), e, establishTimeout())
                    .getHeader().getRevision();
            boolean renewed = false;
            if (leaseId != 0) {
                try {
                    awaitOnControl("renew the lease", c.getLeaseClient().keepAliveOnce(leaseId), e);
                    renewed = true;
                    lastRenewalNanos = System.nanoTime();
                } catch (ClusterException ex) {
                    if (!causedByLeaseNotFound(ex)) {
                        throw ex;
                    }
                }
            }
            if (!renewed) {
                grantLease();
            }
            reRegister();
        } catch (RuntimeException ex) {
            client = null;
            c.close();
            note(ex.getMessage());
            scheduleReconnect();
            return;
        }
        setState(ConnectionState.Status.CONNECTED, "");
        LOG.log(Level.INFO, "node {0} reconnected to etcd at {1} (lease {2})", config.nodeId(), config.endpoints(),
                Long.toHexString(leaseId));
        backoff = config.reconnectBackoffMin();
        scheduleTick();
        view.resume(e, c, serverRevision);
        onReconnected.run();
    }

    /** @return why no endpoint accepts a TCP connection, or null when one does */
    private String probeEndpoints() {
        int timeout = (int) Math.min(1000, config.callTimeout().toMillis());
        String last = null;
        for (URI u : config.endpoints()) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(u.getHost(), u.getPort()), timeout);
                return null;
            } catch (java.io.IOException ex) {
                last = u + ": " + ex.getMessage();
            }
        }
        return "cannot connect: " + last;
    }

    /** Records the latest failure in the state's reason, without telling listeners (the status did not change). */
    private void note(String reason) {
        ConnectionState s = state;
        if (s.status() == ConnectionState.Status.DISCONNECTED) {
            state = new ConnectionState(s.status(), s.since(), reason == null ? "" : reason);
        }
    }

    private void setState(ConnectionState.Status status, String reason) {
        ConnectionState next = new ConnectionState(status, config.clock().instant(), reason == null ? "" : reason);
        state = next;
        view.stateChanged(next);
    }

    // ---------------------------------------------------------------- helpers

    /**
     * The bound on the first call of a new client, which also sets up its connection (a Vert.x event
     * loop, TCP, the HTTP/2 handshake, on a loaded machine cold code): three call timeouts.
     */
    private Duration establishTimeout() {
        return config.callTimeout().multipliedBy(3);
    }

    /** Awaits a future on the control thread, bounded by callTimeout; failures classified as for call(). */
    private <T> T awaitOnControl(String what, CompletableFuture<T> f, int e) {
        return awaitOnControl(what, f, e, config.callTimeout());
    }

    private <T> T awaitOnControl(String what, CompletableFuture<T> f, int e, Duration timeout) {
        try {
            return f.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException ex) {
            f.cancel(true);
            throw new ClusterException.Unavailable(what + ": etcd at " + config.endpoints() + " did not answer within "
                    + timeout.toMillis() + " ms", ex);
        } catch (ExecutionException ex) {
            Throwable t = ex.getCause();
            EtcdException ee = EtcdExceptionFactory.toEtcdException(t);
            if (isConnectionFailure(ee) || isLeaseNotFound(ee)) {
                throw new ClusterException.Unavailable(what + ": etcd at " + config.endpoints() + " failed: " + describe(ee), ee);
            }
            throw new ClusterException(what + ": etcd refused it: " + describe(ee), ee);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new ClusterException(what + ": interrupted", ex);
        }
    }

    /** Throws Unavailable at once, without queueing behind a reconnection attempt, while disconnected. */
    private void failFastIfDisconnected(String what) {
        ConnectionState s = state;
        if (s.status() == ConnectionState.Status.CLOSED) {
            throw closedError(what);
        }
        if (!s.isConnected()) {
            throw unavailable(what, s);
        }
    }

    private void requireConnected(String what) {
        ConnectionState s = state;
        if (!s.isConnected() || client == null) {
            throw unavailable(what, s);
        }
    }

    private void checkOpen(String what) {
        if (closed) {
            throw closedError(what);
        }
    }

    private void execute(Runnable r) {
        try {
            control.execute(() -> {
                try {
                    r.run();
                } catch (RuntimeException ex) {
                    LOG.log(Level.WARNING, "cluster session task failed", ex);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException ex) {
            // closed
        }
    }

    private <T> T submitAndWait(String what, java.util.concurrent.Callable<T> task) {
        if (onControlThread()) {
            try {
                return task.call();
            } catch (RuntimeException ex) {
                throw ex;
            } catch (Exception ex) {
                throw new ClusterException(what + ": " + ex.getMessage(), ex);
            }
        }
        Future<T> f;
        try {
            f = control.submit(task);
        } catch (java.util.concurrent.RejectedExecutionException ex) {
            throw closedError(what);
        }
        try {
            // the task's own etcd calls are bounded; this bound only guards against a wedged thread
            return f.get(config.callTimeout().toMillis() * 5 + 1000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException ex) {
            if (ex.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new ClusterException(what + ": " + ex.getCause(), ex.getCause());
        } catch (TimeoutException ex) {
            f.cancel(false);                  // not started yet: it never will, so the caller's failure is final
            throw new ClusterException.Unavailable(what + ": the cluster session did not answer in time", ex);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new ClusterException(what + ": interrupted", ex);
        }
    }

    private static void cancel(ScheduledFuture<?> f) {
        if (f != null) {
            f.cancel(false);
        }
    }

}
