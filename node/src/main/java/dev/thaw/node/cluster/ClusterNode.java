package dev.thaw.node.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.thaw.cluster.Claim;
import dev.thaw.cluster.ClusterConfig;
import dev.thaw.cluster.ClusterException;
import dev.thaw.cluster.ConnectionState;
import dev.thaw.cluster.Coordination;
import dev.thaw.cluster.FunctionEvent;
import dev.thaw.cluster.FunctionVersion;
import dev.thaw.cluster.Member;
import dev.thaw.cluster.MemberState;
import dev.thaw.cluster.SnapshotEntry;
import dev.thaw.cluster.Subscription;
import dev.thaw.core.ErrorType;
import dev.thaw.core.Json;
import dev.thaw.core.ThawException;
import dev.thaw.node.ClusterSettings;
import dev.thaw.node.function.Deployment;
import dev.thaw.node.instance.SharedSnapshots;
import dev.thaw.node.placement.ClusterView;
import dev.thaw.node.placement.NodeState;
import dev.thaw.node.snapshot.SharedObjects;
import dev.thaw.node.snapshot.Snapshot;
import dev.thaw.node.snapshot.SnapshotRepository;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/*
 * A node's place in its cluster: the glue between the node and the coordination in etcd (the
 * cluster module).
 *
 * - Membership: the node registers under its lease and, every second, publishes what placement
 *   needs of it: its load, its idle warm instances per function version, and the snapshots its
 *   memory and disk hold. It reads the others' records as the ClusterView placement decides on.
 * - Registry: deploys through this node are numbered by etcd and announced to every node; every
 *   node installs every version it hears of (the code comes from the shared store by its hash), on
 *   one thread, in etcd's order, and deletes what is deleted anywhere. Aliases live in etcd too;
 *   every node mirrors them into its own function store, so an alias resolves at any front door.
 * - Catalog: before a boot that would take a snapshot, the node claims the right to take it. If a
 *   snapshot is already published it restores that one instead (its metadata is fetched from the
 *   shared store); if another node holds the claim it waits for that snapshot for a while, then
 *   boots without one. What it takes itself it publishes once stored. So one boot in the cluster
 *   serves every later cold start, on every node.
 *
 * When etcd is unreachable the node keeps serving what it has (the coordination handle answers
 * reads from its last view and reconnects by itself); deploys and deletes are refused, since a
 * version number only etcd can give; snapshots are taken locally and published when possible.
 */
/** A node's membership, registry and catalog glue (see the comment above). */
public final class ClusterNode implements ClusterView, SharedSnapshots, AutoCloseable {
    private static final System.Logger LOG = System.getLogger("thaw.cluster");
    /** How long a start waits for the snapshot another node is taking before it boots without one. */
    private static final Duration AWAIT_SNAPSHOT = Duration.ofSeconds(60);
    private static final Duration PUBLISH_EVERY = Duration.ofSeconds(1);

    /** What the node tells the cluster about itself, and does when the cluster changes. */
    public interface Hooks {
        /** Installs a version deployed through any node (this one's own included: then it is there already). */
        void deployed(FunctionVersion version);

        /** Deletes a function deleted through any node. */
        void deleted(String name);

        /** Points an alias, created or moved through any node (this one's own included), at a version. */
        void aliased(String name, String alias, long version, String by);

        /** Deletes an alias deleted through any node (or with its function). */
        void unaliased(String name, String alias);

        /** @return the node's load now */
        Load load();

        /** Another node left the cluster (its lease ended: it stopped, died or lost etcd for longer than the TTL). */
        default void left(String nodeId) {
        }
    }

    /**
     * @param busy instances starting or busy
     * @param idle per function version ({@code name@version}), idle warm instances
     * @param memory snapshot ids held in memory (working copies and the store's memory tier)
     * @param disk snapshot ids held in the store's disk tier
     */
    public record Load(int busy, Map<String, Integer> idle, Set<String> memory, Set<String> disk) {
    }

    private final ClusterSettings settings;
    private final URI advertise;
    private final Coordination coordination;
    private final Hooks hooks;
    private final Optional<SharedObjects> shared;
    private final boolean sandboxed;
    private final Map<String, dev.thaw.cluster.BootClaim> claims = new ConcurrentHashMap<>();
    private final ExecutorService sync = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().name("thaw-cluster-sync").factory());
    private final ScheduledExecutorService publisher = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("thaw-cluster-publish").factory());
    private final Subscription registrySubscription;
    private final Subscription membershipSubscription;

    private ClusterNode(ClusterSettings settings, URI advertise, String transfer, Coordination coordination, Hooks hooks,
                        Optional<SharedObjects> shared, boolean sandboxed) {
        this.settings = settings;
        this.advertise = advertise;
        this.coordination = coordination;
        this.hooks = hooks;
        this.shared = shared;
        this.sandboxed = sandboxed;
        coordination.membership().join(Member.of(settings.nodeId(), advertise, settings.capacity(), Instant.now())
                .withTransfer(transfer));
        coordination.onConnectionChange(s -> LOG.log(s.isConnected() ? System.Logger.Level.INFO
                : System.Logger.Level.WARNING, "etcd: " + s));
        this.registrySubscription = coordination.registry().subscribe(e -> sync.execute(() -> apply(e)));
        this.membershipSubscription = coordination.membership().subscribe(e -> {
            if (e instanceof dev.thaw.cluster.MemberEvent.Left l && !l.member().id().equals(settings.nodeId())) {
                sync.execute(() -> hooks.left(l.member().id()));
            }
        });
        publisher.scheduleWithFixedDelay(this::publishLoad, 0, PUBLISH_EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Connects to etcd, trying again until {@code wait} has passed (a node and its etcd often start
     * together), then joins the cluster.
     *
     * @param shared the shared store's objects; empty when the node has no snapshot store (it then
     *     takes its own snapshots and shares none)
     * @throws ThawException {@code ServiceUnavailable} naming the endpoints when etcd never answered
     */
    public static ClusterNode join(ClusterSettings settings, URI advertise, String transfer, Hooks hooks,
                                   Optional<SharedObjects> shared, boolean sandboxed, Duration wait) {
        ClusterConfig config = ClusterConfig.builder().endpoints(settings.etcd()).clusterName(settings.name())
                .nodeId(settings.nodeId()).leaseTtl(settings.leaseTtl())
                // a renewal that waits a whole call timeout must leave time for another within the TTL
                .callTimeout(min(Duration.ofSeconds(2), settings.leaseTtl().dividedBy(2))).build();
        long deadline = System.nanoTime() + wait.toNanos();
        ClusterException last = null;
        do {
            try {
                return new ClusterNode(settings, advertise, transfer, Coordination.connect(config), hooks, shared, sandboxed);
            } catch (ClusterException e) {
                last = e;
                LOG.log(System.Logger.Level.INFO, "waiting for etcd at " + settings.etcd() + ": " + e.getMessage());
                sleep(Duration.ofMillis(500));
            }
        } while (System.nanoTime() < deadline);
        throw new ThawException(ErrorType.ServiceUnavailable, "cannot join cluster '" + settings.name() + "': etcd at "
                + settings.etcd() + " did not answer within " + wait.toSeconds() + " s (" + last.getMessage() + ")", last);
    }

    public String nodeId() {
        return settings.nodeId();
    }

    /** @return the cluster's ledger of Event invocations nodes accepted and have not finished */
    public dev.thaw.cluster.EventLedger events() {
        return coordination.events();
    }

    /** @return the ids of the cluster's members as this node's view has them, this node's included */
    public Set<String> memberIds() {
        Set<String> ids = new java.util.TreeSet<>();
        coordination.membership().members().forEach(m -> ids.add(m.id()));
        return ids;
    }

    public URI advertise() {
        return advertise;
    }

    public ConnectionState connection() {
        return coordination.connection();
    }

    /** @return every live member's record, as this node's view has them */
    public List<Member> memberRecords() {
        return coordination.membership().members();
    }

    // ---- registry ------------------------------------------------------------------------------

    /**
     * Registers a deploy made through this node: etcd gives it the next version number.
     *
     * @param manifestJson the manifest, as JSON
     * @throws ThawException {@code ServiceUnavailable} when etcd cannot be reached
     */
    public FunctionVersion deploy(String name, String manifestJson, String sha256, long size, String codeKey) {
        try {
            return coordination.registry().deploy(new dev.thaw.cluster.Deployment(name, manifestJson, "sha256:" + sha256,
                    size, codeKey));
        } catch (ClusterException.Unavailable e) {
            throw unavailable("deploys are refused", e);
        } catch (ClusterException e) {
            throw new ThawException(ErrorType.ServiceUnavailable, "the deploy of '" + name + "' did not get a version: "
                    + e.getMessage(), e);
        }
    }

    /**
     * Deletes a function cluster-wide; every node hears of it.
     *
     * @return whether the registry had it
     */
    public boolean delete(String name) {
        try {
            return coordination.registry().delete(name);
        } catch (ClusterException.Unavailable e) {
            throw unavailable("deletes are refused", e);
        }
    }

    /**
     * Creates or moves an alias cluster-wide; every node hears of it.
     *
     * @return the version it named before, if it existed
     * @throws ThawException {@code FunctionNotFound} when the registry has no such version,
     *     {@code ServiceUnavailable} when etcd cannot be reached
     */
    public Optional<Long> setAlias(String name, String alias, long version) {
        try {
            return coordination.registry().setAlias(name, alias, version);
        } catch (ClusterException.Unavailable e) {
            throw unavailable("aliases cannot be changed", e);
        } catch (ClusterException.NotFound e) {
            throw new ThawException(ErrorType.FunctionNotFound, e.getMessage(), e);
        }
    }

    /**
     * Deletes an alias cluster-wide.
     *
     * @return the version it named, empty if there was no such alias
     */
    public Optional<Long> deleteAlias(String name, String alias) {
        try {
            return coordination.registry().deleteAlias(name, alias);
        } catch (ClusterException.Unavailable e) {
            throw unavailable("aliases cannot be changed", e);
        }
    }

    /** @return the version the registry has, read from etcd (or its last view while etcd is away) */
    public Optional<FunctionVersion> version(String name, long version) {
        try {
            return coordination.registry().version(name, version);
        } catch (ClusterException e) {
            return Optional.empty();
        }
    }

    /** @return the function's current version in the registry */
    public Optional<FunctionVersion> current(String name) {
        try {
            return coordination.registry().current(name);
        } catch (ClusterException e) {
            return Optional.empty();
        }
    }

    /** @return the names the registry holds (its last view while etcd is away) */
    public Set<String> functions() {
        try {
            Set<String> names = new java.util.TreeSet<>();
            coordination.registry().list().forEach(v -> names.add(v.name()));
            return names;
        } catch (ClusterException e) {
            return Set.of();
        }
    }

    private ThawException unavailable(String what, ClusterException e) {
        return new ThawException(ErrorType.ServiceUnavailable, "the cluster's etcd (" + settings.etcd()
                + ") cannot be reached, so " + what + " until it returns; deployed functions keep serving ("
                + e.getMessage() + ")", e);
    }

    private void apply(FunctionEvent e) {
        try {
            switch (e) {
                case FunctionEvent.Deployed d -> hooks.deployed(d.function());
                case FunctionEvent.Deleted d -> hooks.deleted(d.name());
                case FunctionEvent.Aliased a -> hooks.aliased(a.entry().function(), a.entry().alias(), a.entry().version(),
                        a.entry().setBy());
                case FunctionEvent.Unaliased u -> hooks.unaliased(u.name(), u.alias());
            }
        } catch (RuntimeException ex) {
            LOG.log(System.Logger.Level.WARNING, "cluster: " + e + " not applied here: " + ex.getMessage());
        }
    }

    // ---- membership ------------------------------------------------------------------------------

    private void publishLoad() {
        try {
            Load l = hooks.load();
            Set<String> booting = booting();
            coordination.membership().update(m -> m.withLoad(Math.min(l.busy(), Integer.MAX_VALUE)).withIdle(l.idle())
                    .withSnapshots(l.memory(), l.disk()).withBooting(booting));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "cluster: load not published: " + e.getMessage());
        }
    }

    /**
     * Publishes at once which versions this node's boots are taking the snapshot of, rather than with
     * the next second's load: placement elsewhere sends their first invocations here (a deploy's boot
     * begins a moment before the other nodes have installed the version).
     */
    private void publishBooting() {
        Set<String> booting = booting();
        try {
            coordination.membership().updateNow(m -> m.withBooting(booting));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "cluster: booting versions not published: " + e.getMessage());
        }
    }

    /** @return the versions whose boot claim this node holds: its boots are taking their snapshots */
    private Set<String> booting() {
        return Set.copyOf(claims.keySet());
    }

    /** Publishes this node's record at once as draining: placement stops sending it work. */
    public void drain() {
        try {
            coordination.membership().updateNow(m -> m.withState(MemberState.DRAINING));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "cluster: draining not published: " + e.getMessage());
        }
    }

    @Override
    public String selfId() {
        return settings.nodeId();
    }

    @Override
    public List<NodeState> members() {
        return coordination.membership().members().stream().map(m -> new NodeState(m.id(), m.address(),
                m.state() == MemberState.ACTIVE, m.capacity(), m.load(), m.memorySnapshots(), m.diskSnapshots(), m.idle(),
                m.booting()))
                .toList();
    }

    /**
     * @return where the node takes transfer pulls: its address when it is a live member, gone when it
     *     is not (a pull from it fails at once), unknown when it advertises none
     */
    public dev.thaw.node.xdt.NodeDirectory.Location locate(String nodeId) {
        Optional<Member> m = coordination.membership().member(nodeId);
        if (m.isEmpty()) {
            return new dev.thaw.node.xdt.NodeDirectory.Location.Gone("node " + nodeId + " is not a live member of cluster '"
                    + settings.name() + "'");
        }
        return m.get().transfer().isEmpty() ? new dev.thaw.node.xdt.NodeDirectory.Location.Unknown()
                : new dev.thaw.node.xdt.NodeDirectory.Location.At(m.get().transfer());
    }

    /** @return the member's address, if it is live */
    public Optional<URI> address(String nodeId) {
        return coordination.membership().member(nodeId).map(Member::address);
    }

    // ---- catalog -------------------------------------------------------------------------------

    @Override
    public Decision beforeCheckpoint(Deployment d, Snapshot s) {
        if (shared.isEmpty()) {
            return Decision.CHECKPOINT;
        }
        long deadline = System.nanoTime() + AWAIT_SNAPSHOT.toNanos();
        try {
            while (true) {
                Claim c = coordination.catalog().claim(d.name(), d.version());
                switch (c) {
                    case Claim.Published p -> {
                        return adopt(d, s, p.entry()) ? Decision.RESTORE : Decision.BOOT;
                    }
                    case Claim.Won w -> {
                        claims.put(key(d), w.claim());
                        publishBooting();
                        return Decision.CHECKPOINT;
                    }
                    case Claim.Busy b -> {
                        long left = deadline - System.nanoTime();
                        if (left <= 0) {
                            return Decision.BOOT;
                        }
                        Optional<SnapshotEntry> e = coordination.catalog().awaitSnapshot(d.name(), d.version(),
                                Duration.ofNanos(left));
                        if (e.isPresent()) {
                            return adopt(d, s, e.get()) ? Decision.RESTORE : Decision.BOOT;
                        }
                        if (System.nanoTime() >= deadline) {
                            return Decision.BOOT;
                        }
                        // the claim went without a snapshot (its holder failed or died): claim again
                    }
                }
            }
        } catch (ClusterException.Unavailable e) {
            LOG.log(System.Logger.Level.WARNING, d.name() + ": etcd unreachable, the snapshot is taken here: " + e.getMessage());
            return Decision.CHECKPOINT;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Decision.BOOT;
        }
    }

    /** Takes the published snapshot as this node's: fetches its metadata and loads it. */
    private boolean adopt(Deployment d, Snapshot s, SnapshotEntry entry) {
        boolean entrySandboxed = meta(entry).path("sandboxed").asBoolean(false);
        if (entrySandboxed != sandboxed) {
            LOG.log(System.Logger.Level.WARNING, d.name() + ": the cluster's snapshot was taken " + (entrySandboxed
                    ? "in a sandbox and this node runs instances without one" : "without a sandbox and this node runs"
                    + " instances in one") + ": booting without it");
            return false;
        }
        try {
            if (!shared.get().fetchMeta(entry.snapshotId(), s.metaDir())) {
                LOG.log(System.Logger.Level.WARNING, d.name() + ": the catalog names snapshot " + entry.snapshotId()
                        + " but the shared store has no metadata for it: booting");
                return false;
            }
            return s.adopt();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, d.name() + ": the cluster's snapshot could not be fetched: " + e.getMessage());
            return false;
        }
    }

    /**
     * @return the snapshot the cluster's catalog names for a function version (taken by any node),
     *     or empty when there is none or etcd cannot say
     */
    public Optional<SnapshotEntry> publishedSnapshot(String function, long version) {
        try {
            return coordination.catalog().find(function, version);
        } catch (ClusterException.Unavailable e) {
            return Optional.empty();
        }
    }

    /** @return for a warmed snapshot, the invocations its instance had served when it was taken; else null */
    public static Long warmedAfter(SnapshotEntry entry) {
        long n = meta(entry).path("warmedAfterInvocations").asLong(0);
        return n > 0 ? n : null;
    }

    private static JsonNode meta(SnapshotEntry entry) {
        try {
            return Json.mapper().readTree(entry.meta());
        } catch (IOException e) {
            return Json.mapper().createObjectNode();
        }
    }

    @Override
    public void taken(Deployment d, Snapshot s) {
        if (shared.isEmpty()) {
            return;
        }
        sync.execute(() -> {
            try {
                String id = SnapshotRepository.snapshotId(d, s.warmedAfter());
                shared.get().awaitSnapshotUploaded(id, SnapshotRepository.baseImageId(id));
                coordination.catalog().publish(entryOf(d, s, id));
                claims.remove(key(d));
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, d.name() + ": snapshot not published to the cluster: " + e.getMessage());
                notTaken(d, e.getMessage());
            }
        });
    }

    /** @return the catalog's entry of a snapshot this node took, its metadata stored */
    private SnapshotEntry entryOf(Deployment d, Snapshot s, String id) throws IOException {
        shared.orElseThrow().putMeta(id, s.metaDir());
        ObjectNode meta = Json.mapper().createObjectNode();
        meta.put("sandboxed", s.sandboxed());
        if (s.warmedAfter() > 0) {
            meta.put("warmedAfterInvocations", s.warmedAfter());
        }
        long size = s.info().sizeBytes() == null ? 0 : s.info().sizeBytes();
        return new SnapshotEntry(d.name(), d.version(), id, id, size, "any", settings.nodeId(), Instant.now(),
                Json.mapper().writeValueAsString(meta));
    }

    @Override
    public boolean awaitedElsewhere(Deployment d) {
        return shared.isPresent() && coordination.catalog().awaitedByOthers(d.name(), d.version());
    }

    @Override
    public Optional<Catalogued> catalogued(Deployment d) {
        if (shared.isEmpty()) {
            return Optional.empty();
        }
        return coordination.catalog().seen(d.name(), d.version())
                .map(e -> new Catalogued(e.snapshotId(), e.takenBy()));
    }

    @Override
    public Optional<String> warmed(Deployment d, Snapshot s) {
        if (shared.isEmpty()) {
            return Optional.of("the node has no shared snapshot store");
        }
        String snapshotId = SnapshotRepository.snapshotId(d, s.warmedAfter());
        String replacedId = SnapshotRepository.snapshotId(d, 0);
        try {
            shared.get().awaitSnapshotUploaded(snapshotId, SnapshotRepository.baseImageId(snapshotId));
            if (!coordination.catalog().replace(entryOf(d, s, snapshotId), replacedId)) {
                shared.get().deleteMeta(snapshotId);
                return Optional.of("the cluster's catalog no longer names " + replacedId);
            }
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.of("not published to the cluster: " + e.getMessage());
        }
    }

    @Override
    public Optional<String> claimWarming(Deployment d) {
        if (shared.isEmpty()) {
            return Optional.of("the node has no shared snapshot store");
        }
        try {
            return coordination.catalog().claimWarming(d.name(), d.version()).map(holder -> "node " + holder + " holds the right to warm it");
        } catch (ClusterException e) {
            return Optional.of("etcd did not answer: " + e.getMessage());
        }
    }

    @Override
    public void releaseWarming(Deployment d) {
        try {
            coordination.catalog().releaseWarming(d.name(), d.version());
        } catch (ClusterException e) {
            // retried on reconnection, and the claim goes with this node's lease anyway
            LOG.log(System.Logger.Level.DEBUG, d.name() + ": the warming claim was not released yet: " + e.getMessage());
        }
    }

    @Override
    public boolean fetchMeta(String snapshotId, java.nio.file.Path metaDir) throws IOException {
        return shared.isPresent() && shared.get().fetchMeta(snapshotId, metaDir);
    }

    @Override
    public void notTaken(Deployment d, String why) {
        dev.thaw.cluster.BootClaim claim = claims.remove(key(d));
        if (claim != null) {
            try {
                coordination.catalog().release(claim);
            } catch (RuntimeException e) {
                // the claim goes with this node's lease anyway
            }
        }
    }

    @Override
    public void discarded(Deployment d, String snapshotId, String why) {
        if (shared.isEmpty()) {
            return;
        }
        sync.execute(() -> {
            try {
                coordination.catalog().remove(d.name(), d.version(), snapshotId);
                shared.get().deleteMeta(snapshotId);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, d.name() + ": discarded snapshot not removed from the catalog: "
                        + e.getMessage());
            }
        });
    }

    private static String key(Deployment d) {
        return d.name() + "@" + d.version();
    }

    // ---- the others ----------------------------------------------------------------------------

    /** @return whether something accepts connections at the member's address (a quick liveness probe) */
    public static boolean reachable(URI address) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(address.getHost(), address.getPort()), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        publisher.shutdownNow();
        registrySubscription.close();
        membershipSubscription.close();
        sync.shutdown();
        try {
            sync.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            coordination.close();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "cluster: close: " + e.getMessage());
        }
    }
}
