package dev.thaw.node.instance;

import dev.thaw.core.StartKind;
import dev.thaw.criu.Criu;
import dev.thaw.node.function.Deployment;
import dev.thaw.node.pool.FunctionPool;
import dev.thaw.node.pool.Invocation;
import dev.thaw.node.pool.PoolInstance;
import dev.thaw.node.pool.Scheduler;
import dev.thaw.node.snapshot.LazyRestore;
import dev.thaw.node.snapshot.Snapshot;
import dev.thaw.node.snapshot.SnapshotRepository;
import dev.thaw.core.FileTrees;
import dev.thaw.protocol.RuntimeProtocol.Control;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.function.Predicate;

/*
 * A function's snapshot is taken after init, before any real invocation: every clone then compiles
 * for itself what real events run (the handler's own code, the branches its events take), on the
 * same cores as the others, in its first seconds. This replaces that snapshot, once per version,
 * with one of an instance that has served real invocations, so later clones start with that code
 * compiled, without the author's priming.
 *
 * When: an instance idle now has served `after` invocations (its JIT has seen the path; the
 * runtime still waits for its compilers to be quiet before the dump). Which: one whose memory is
 * whole, i.e. booted, or a clone whose page server has installed every page and let go (a clone
 * still faulting pages in would be dumped with holes). How: the pool lends the instance out of
 * rotation; the node answers its next `next` with the snapshot handshake (Headers.CHECKPOINT); the
 * runtime prepares as after init (beforeCheckpoint hooks, its connections closed, GC) and says
 * checkpoint-ready; CRIU dumps it into a staging directory, leaving it running; the node swaps the
 * images in while no restore reads the old ones (every restore takes the images' read lock; clones
 * whose page server still serves pages count as readers) and then resumes the instance, which goes
 * back to its invocation loop, as every clone of the new snapshot does on its restore.
 *
 * What is kept of the first snapshot: its control token and Runtime API secret (a clone speaks with
 * the token and secret of the first instance, which are in its memory), so clones of either
 * snapshot are alike to the node. The stored copy is replaced in the background.
 *
 * In a cluster, the version's snapshot is the one its catalog names, which every node restores.
 * One node warms it: the first whose instance qualifies takes the right to in etcd (WarmingClaim;
 * one warmed snapshot per version, under one id of its own), stores it and makes the catalog name
 * it in its place; the first one stays stored, since other nodes restore it until they move. Any
 * node may, not only the one that took the first snapshot: a version's traffic may reach other
 * nodes than that one, and it may leave the cluster. Every other node sees the catalog's new entry on
 * its tick, fetches the warmed snapshot's metadata and swaps it in as the taker did, under the same
 * lock and with the same wait for clones still reading the old images: its working copy of the
 * old images goes, and its later clones restore the warmed images from the store.
 *
 * REAP restores: a working set belongs to the snapshot it was recorded on, by the snapshot's id,
 * and the swap waits for every clone still storing one (it reads the images). The warmed snapshot
 * starts without one, and its first restore records its own.
 *
 * Not taken, and why, said once in the function's log: a runtime other than thaw's own (it does
 * not speak the handshake mid-life). Nor of an instance that holds a TCP connection of its own
 * when it is to be dumped (a database connection its handler opened on a first invocation): CRIU
 * restores connections closed, so every clone would find it dead, where clones of the snapshot
 * taken after init never had it. A refusal or a failed dump leaves the first snapshot in place
 * and the instance serving; after MAX_ATTEMPTS of them the version keeps its first snapshot.
 */
/** Replaces a function's snapshot, once, with one of an instance that has served invocations (see the comment above). */
final class WarmSnapshot {
    private static final System.Logger LOG = System.getLogger("thaw.node");
    /** Dumps that failed before the version keeps its first snapshot. */
    static final int MAX_ATTEMPTS = 3;
    /** The handshake's longest wait: the runtime waits up to 3 s for its compilers, its hooks have their own limits. */
    private static final Duration HANDSHAKE_LIMIT = Duration.ofSeconds(30);
    /** The longest the swap waits for restores that read the old images. */
    private static final Duration SWAP_WAIT = Duration.ofSeconds(3);

    /** Dumps an instance as a snapshot's dump is taken, for clones: see FunctionInstances. */
    interface Dumper {
        Criu.DumpResult dump(Instance instance, Path staging, Path dumpLog, Path scratch) throws IOException;
    }

    private final Deployment deployment;
    private final Snapshot snapshot;
    private final FunctionInstances.Context ctx;
    private final int after;
    private final Set<Instance> live;
    private final ReadWriteLock images;
    private final Dumper dumper;
    private final Optional<String> refusal;
    private boolean refusalLogged;
    /** In a cluster, the right to warm, which one node holds at a time. */
    private final WarmingClaim claim;
    /** The instance being snapshotted, lent by {@link #lender}; null when none is. Guarded by this. */
    private Instance taking;
    /** The busy instance the pool lends as its invocation ends; null when none. Guarded by this. */
    private Instance pending;
    private FunctionPool lender;
    private Scheduler.Cancellable handshakeTimer;
    /** The instance being snapshotted said checkpoint-ready: the dump is under way. Guarded by this. */
    private boolean dumping;
    private int failures;
    /** Moving to the warmed snapshot another node of the cluster took. Guarded by this. */
    private boolean following;
    private int followFailures;

    /**
     * Invocations an instance must serve before it is snapshotted: the function's own setting, else
     * the node's ({@link #after}).
     *
     * @param live the version's instances that have not exited
     * @param images held for reading by every restore, for writing by the swap
     */
    WarmSnapshot(Deployment deployment, Snapshot snapshot, FunctionInstances.Context ctx,
                 Set<Instance> live, ReadWriteLock images, Dumper dumper) {
        this.deployment = deployment;
        this.snapshot = snapshot;
        this.ctx = ctx;
        Integer own = deployment.manifest().warmSnapshotAfter();
        this.after = after(ctx.warmSnapshotAfter(), own);
        this.live = live;
        this.images = images;
        this.dumper = dumper;
        this.refusal = refusal(deployment.manifest().runtime(), own, after);
        this.claim = new WarmingClaim(ctx.shared(), deployment, System::nanoTime,
                r -> Thread.ofVirtual().name("thaw-warming-claim-" + deployment.name()).start(r));
    }

    /**
     * @param nodeAfter the node's setting ({@code thaw up --warm-snapshot-after}); 0: off for every function
     * @param ownAfter the function's own setting, or null when its manifest leaves it to the node
     * @return the invocations an instance of the function serves before its snapshot is warmed; 0: never
     */
    static int after(int nodeAfter, Integer ownAfter) {
        return nodeAfter <= 0 ? 0 : ownAfter != null ? ownAfter : nodeAfter;
    }

    /**
     * @param runtime the function's runtime ({@code java}, {@code provided})
     * @param ownAfter the function's own setting, or null
     * @param after what applies ({@link #after})
     * @return why a version's snapshot is never warmed on this node; empty when it may be
     */
    static Optional<String> refusal(String runtime, Integer ownAfter, int after) {
        if (ownAfter != null && ownAfter == 0) {
            return Optional.of("off for this function (deployed with --warm-snapshot-after 0)");
        }
        if (after <= 0) {
            return Optional.of("off on this node (thaw up --warm-snapshot-after 0)");
        }
        if (!"java".equals(runtime)) {
            return Optional.of("the function's runtime is not thaw's own, which alone takes the snapshot handshake"
                    + " between invocations");
        }
        return Optional.empty();
    }

    /**
     * @return what {@code thaw describe} says of warming while the snapshot taken after init serves:
     *     when a warmed one is to replace it, or why none will; empty once warmed
     */
    Optional<String> plan() {
        if (refusal.isPresent()) {
            return Optional.of("never: " + refusal.get());
        }
        synchronized (this) {
            if (failures >= MAX_ATTEMPTS) {
                return Optional.of("never: " + MAX_ATTEMPTS + " attempts failed (SNAPSHOT_NOT_WARMED in the function's log)");
            }
        }
        if (snapshot.state() != Snapshot.State.READY || snapshot.warmedAfter() > 0) {
            return Optional.empty();
        }
        if (!ctx.shared().shared()) {
            return Optional.of("once an instance has served " + after + " invocations");
        }
        return Optional.of("once an instance on any node of the cluster has served " + after + " invocations"
                + claim.refused().map(why -> " (" + why + ")").orElse(""));
    }

    /** @return whether the instance's control lines are this handshake's */
    synchronized boolean handles(Instance instance) {
        return instance == taking;
    }

    /**
     * Lends an instance that qualifies from {@code pool} and asks it for the handshake, when the
     * snapshot may be warmed now. Called on the node's periodic tick.
     */
    void consider(FunctionPool pool) {
        if (ctx.shared().shared() && followWhenWarmedElsewhere()) {
            return;
        }
        synchronized (this) {
            if (!mayTakeNow()) {
                return;
            }
        }
        if (!othersSettled(null)) {
            return; // a clone still faulting its pages in would hold the swap up
        }
        Predicate<PoolInstance> whole = p -> p instanceof Instance i && memoryWhole(i);
        if (!claim.held()) {
            if (pool.couldLend(after, whole)) {
                claim.ask(); // a cluster's right to warm: lent on a later tick, once held
            }
            return;
        }
        Optional<FunctionPool.Loan> loan = pool.lend(after, whole, p -> lent(pool, (Instance) p));
        if (loan.isEmpty()) {
            claim.nothingToWarm();
            return;
        }
        Instance instance = (Instance) loan.get().instance();
        if (loan.get().now()) {
            lent(pool, instance);
            return;
        }
        synchronized (this) {
            if (taking != instance) {
                pending = instance; // lent as its invocation ends, unless it exits first
            }
        }
    }

    /** The pool lent the instance: the handshake begins. */
    private void lent(FunctionPool pool, Instance instance) {
        int served = pool.served(instance);
        synchronized (this) {
            if (pending == instance) {
                pending = null;
            }
            if (taking != null) {
                pool.giveBack(instance); // cannot happen (one loan at a time), but a loan is never kept
                return;
            }
            taking = instance;
            lender = pool;
            dumping = false;
            handshakeTimer = ctx.scheduler().schedule(() -> handshakeOverran(instance), HANDSHAKE_LIMIT);
        }
        instance.hand(Invocation.checkpoint("the instance has served " + served + " invocations"));
    }

    private boolean mayTakeNow() {
        if (refusal.isPresent()) {
            if (!refusalLogged) {
                refusalLogged = true;
                LOG.log(System.Logger.Level.DEBUG, deployment.name() + ": no warmed snapshot: " + refusal.get());
            }
            return false;
        }
        return taking == null && pending == null && !following && failures < MAX_ATTEMPTS
                && snapshot.state() == Snapshot.State.READY && snapshot.warmedAfter() == 0 && mayTakeHere();
    }

    /**
     * A single node warms its own snapshot. In a cluster a node may while the catalog still names the
     * snapshot taken after init (and once it holds the right to: {@link WarmingClaim}).
     */
    private boolean mayTakeHere() {
        if (!ctx.shared().shared()) {
            return true;
        }
        String first = SnapshotRepository.snapshotId(deployment, 0);
        return ctx.shared().catalogued(deployment).filter(c -> c.snapshotId().equals(first)).isPresent();
    }

    /** The version's instances closed on this node: a right to warm held here goes back. */
    void close() {
        claim.close();
    }

    /**
     * Starts moving to the warmed snapshot another node took, when the catalog names one and this
     * node still restores the snapshot taken after init.
     *
     * @return whether a move is under way
     */
    private boolean followWhenWarmedElsewhere() {
        Optional<SharedSnapshots.Catalogued> named = ctx.shared().catalogued(deployment);
        if (named.isEmpty() || !named.get().snapshotId().equals(SnapshotRepository.warmedSnapshotId(deployment))) {
            return false;
        }
        synchronized (this) {
            if (following) {
                return true;
            }
            if (taking != null || followFailures >= MAX_ATTEMPTS || snapshot.state() != Snapshot.State.READY
                    || snapshot.warmedAfter() > 0) {
                return false;
            }
            following = true;
        }
        Thread.ofPlatform().daemon().name("thaw-follow-warmed-" + deployment.name()).start(() -> follow(named.get()));
        return true;
    }

    /** Fetches the warmed snapshot's metadata and swaps it in once no restore reads the old images. */
    private void follow(SharedSnapshots.Catalogued named) {
        Path incoming = snapshot.followStagingDir();
        try {
            FileTrees.deleteQuietly(incoming);
            if (!ctx.shared().fetchMeta(named.snapshotId(), incoming)) {
                followFailed(named, "the shared store has no metadata for it");
                return;
            }
            Optional<String> notSwapped = whileNoRestoreReads(null, () -> {
                if (!snapshot.follow()) {
                    return Optional.of("the snapshot changed meanwhile (" + snapshot.state() + ")");
                }
                ctx.repository().replaced(deployment, snapshot.warmedAfter(), false);
                return Optional.empty();
            });
            if (notSwapped.isPresent()) {
                followFailed(named, notSwapped.get());
                return;
            }
            ctx.log().append(String.format(Locale.ROOT, "SNAPSHOT warmed on node %s, of an instance that had served %d"
                    + " invocations: it replaces the snapshot taken after init here too", named.takenBy(), snapshot.warmedAfter()));
        } catch (IOException | RuntimeException e) {
            followFailed(named, e.getMessage());
        } finally {
            FileTrees.deleteQuietly(incoming);
            synchronized (this) {
                following = false;
            }
        }
    }

    private void followFailed(SharedSnapshots.Catalogued named, String why) {
        int failed;
        synchronized (this) {
            failed = ++followFailures;
        }
        String line = "SNAPSHOT_NOT_FOLLOWED the warmed snapshot of node " + named.takenBy() + ": " + why
                + "; this node keeps restoring the snapshot taken after init" + (failed >= MAX_ATTEMPTS
                ? " (no more attempts for this version)" : "");
        ctx.log().append(line);
        LOG.log(System.Logger.Level.INFO, deployment.name() + ": " + line);
    }

    /** A control line of the instance being snapshotted. */
    void onControl(Instance instance, String message) {
        synchronized (this) {
            if (instance != taking || dumping) {
                return; // a second line while the dump is under way (the function's own code can print the token)
            }
            dumping = message.equals(Control.CHECKPOINT_READY);
        }
        if (message.equals(Control.CHECKPOINT_READY)) {
            Thread.ofPlatform().daemon().name("thaw-warm-snapshot-" + instance.id).start(() -> take(instance));
        } else if (message.startsWith(Control.CHECKPOINT_ABORT)) {
            // a beforeCheckpoint hook refused: the runtime resumes its hooks itself and asks for work
            String why = message.substring(Control.CHECKPOINT_ABORT.length()).strip();
            failed("a beforeCheckpoint hook refused: " + why);
            end(instance);
        }
    }

    /** The instance has exited: a handshake it was in is over. */
    void exited(Instance instance) {
        synchronized (this) {
            if (instance == pending) {
                pending = null; // exited before its invocation ended: never lent
            }
            if (instance != taking) {
                return;
            }
        }
        failed("the instance exited during the handshake");
        end(instance);
    }

    private void take(Instance instance) {
        long start = System.nanoTime();
        int served = lenderServed(instance);
        CompletableFuture<Boolean> stored = null; // a cluster's warmed snapshot on its way to the store
        try {
            List<String> held = dev.thaw.linux.HeldConnections.of(instance.rootPid());
            if (!held.isEmpty()) {
                throw new IOException("the instance holds " + held.size() + " connection" + (held.size() == 1 ? "" : "s")
                        + " of its own, which its clones would find closed (" + String.join(", ",
                        held.subList(0, Math.min(3, held.size()))) + (held.size() > 3 ? ", …" : "") + ")");
            }
            FileTrees.deleteQuietly(snapshot.warmStagingDir());
            FileTrees.deleteQuietly(snapshot.warmScratchDir());
            String[] pipes = instance.pipeNames();
            Criu.DumpResult r = dumper.dump(instance, snapshot.warmStagingDir(), snapshot.metaDir().resolve("dump.warm.log"),
                    snapshot.warmScratchDir());
            Optional<String> notSwapped = swap(instance, pipes, r, served);
            if (notSwapped.isPresent()) {
                failed(notSwapped.get());
            } else {
                boolean cluster = ctx.shared().shared();
                ctx.metrics().checkpoint(deployment.name(), r.duration().toNanos() / 1e9, r.imageBytes());
                ctx.log().append(String.format(Locale.ROOT, "SNAPSHOT warmed in %d ms: %.1f MB, of instance %s after %d"
                                + " invocations; it replaces the snapshot taken after init (%.0f ms with the swap)",
                        r.duration().toMillis(), r.imageBytes() / 1048576.0, instance.id, served,
                        (System.nanoTime() - start) / 1e6));
                // held for a quiet node even in a cluster: no node waits for a warmed snapshot, since
                // every one restores the snapshot it replaces meanwhile
                CompletableFuture<Boolean> publish = ctx.repository().publish(deployment, snapshot.imagesDir(), ctx.log(),
                        () -> false);
                stored = cluster ? publish : null;
            }
        } catch (IOException | RuntimeException e) {
            failed("not taken: " + e.getMessage());
        } finally {
            FileTrees.deleteQuietly(snapshot.warmStagingDir());
            FileTrees.deleteQuietly(snapshot.warmScratchDir());
        }
        try {
            instance.resume(false);
        } catch (IOException e) {
            instance.kill(); // its stdin is gone: the instance is too
        }
        end(instance);
        if (stored != null) {
            share(stored);
        }
    }

    /** Once the warmed snapshot is stored, the cluster's catalog names it in place of the first one. */
    private void share(CompletableFuture<Boolean> stored) {
        Optional<String> notShared = stored.join() ? ctx.shared().warmed(deployment, snapshot)
                : Optional.of("it was not stored");
        String line = notShared.isEmpty() ? "SNAPSHOT warmed shared with the cluster: the other nodes move to it"
                : "SNAPSHOT_NOT_SHARED " + notShared.get() + "; this node restores its warmed snapshot, the other nodes"
                        + " the one taken after init";
        ctx.log().append(line);
        LOG.log(notShared.isEmpty() ? System.Logger.Level.DEBUG : System.Logger.Level.WARNING, deployment.name() + ": " + line);
        // the right stays held (until the version closes here): a node whose view has not seen the
        // catalog's new entry yet cannot take it and warm a second snapshot under the same id
    }

    /**
     * Swaps the dump in once no restore reads the current images.
     *
     * @return why it was not swapped in; empty when it was
     */
    private Optional<String> swap(Instance instance, String[] pipes, Criu.DumpResult r, int served) throws IOException {
        return whileNoRestoreReads(instance, () -> {
            if (!snapshot.replace(pipes, r.imageBytes(), r.duration().toMillis(), served)) {
                return Optional.of("the snapshot changed meanwhile (" + snapshot.state() + ")");
            }
            // a cluster's other nodes restore the first one until they move: it stays stored
            ctx.repository().replaced(deployment, served, !ctx.shared().shared());
            return Optional.empty();
        });
    }

    /** A change of the snapshot's images, made while none is read. */
    private interface ImagesChange {
        /** @return why it was not made; empty when it was */
        Optional<String> make() throws IOException;
    }

    /**
     * Makes {@code change} once no restore reads the current images: none in progress (the read
     * lock) and no clone but {@code except} whose page server still serves pages.
     *
     * @return why it was not made; empty when it was
     */
    private Optional<String> whileNoRestoreReads(Instance except, ImagesChange change) throws IOException {
        long deadline = System.nanoTime() + SWAP_WAIT.toNanos();
        while (true) {
            boolean locked;
            try {
                locked = images.writeLock().tryLock(20, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.of("interrupted");
            }
            if (locked) {
                try {
                    if (othersSettled(except)) {
                        return change.make();
                    }
                } finally {
                    images.writeLock().unlock();
                }
            }
            if (System.nanoTime() > deadline) {
                return Optional.of("restores kept reading the snapshot's images for " + SWAP_WAIT.toSeconds() + " s");
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.of("interrupted");
            }
        }
    }

    /**
     * @return whether no instance but {@code except} may still read the images: each has exited, was
     *     booted, or has a page server that has every page in (a restore still in progress holds the
     *     images' read lock instead)
     */
    private boolean othersSettled(Instance except) {
        for (Instance other : live) {
            LazyRestore lazy = other.lazyRestore;
            boolean reads = other.kind != StartKind.BOOT && (lazy == null ? !other.wasReady()
                    : !lazy.readsNoMorePages());
            if (other != except && reads && !other.isDead()) {
                return false;
            }
        }
        return true;
    }

    /** @return whether every page of the instance is in its memory: booted, or a restore whose page server let go */
    private static boolean memoryWhole(Instance instance) {
        if (!instance.wasReady() || instance.isDead()) {
            return false;
        }
        LazyRestore lazy = instance.lazyRestore;
        return instance.kind == StartKind.BOOT ? lazy == null : lazy != null && lazy.settled();
    }

    private void failed(String why) {
        int failed;
        synchronized (this) {
            failed = ++failures;
        }
        String line = "SNAPSHOT_NOT_WARMED " + why + "; the snapshot taken after init stays" + (failed >= MAX_ATTEMPTS
                ? " (no more attempts for this version)" : "");
        ctx.log().append(line);
        LOG.log(System.Logger.Level.INFO, deployment.name() + ": " + line);
    }

    private int lenderServed(Instance instance) {
        synchronized (this) {
            return lender == null ? 0 : lender.served(instance);
        }
    }

    /** The handshake is over: the instance goes back to its pool. */
    private void end(Instance instance) {
        FunctionPool pool;
        synchronized (this) {
            if (instance != taking) {
                return;
            }
            taking = null;
            pool = lender;
            lender = null;
            if (handshakeTimer != null) {
                handshakeTimer.cancel();
            }
        }
        pool.giveBack(instance);
    }

    private void handshakeOverran(Instance instance) {
        synchronized (this) {
            if (instance != taking) {
                return;
            }
        }
        failed("the instance did not take the snapshot handshake within " + HANDSHAKE_LIMIT.toSeconds() + " s");
        instance.kill(); // stuck before its dump: it would never serve again
        end(instance);
    }
}
