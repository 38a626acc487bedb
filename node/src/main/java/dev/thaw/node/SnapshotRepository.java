package dev.thaw.node;

import dev.thaw.core.ThawException;
import dev.thaw.store.GcResult;
import dev.thaw.store.SnapshotStats;
import dev.thaw.store.SnapshotStore;
import dev.thaw.store.TierStats;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Where snapshot images live: a plaintext working copy on tmpfs, which CRIU dumps into and restores
 * from, backed by the encrypted, chunked, tiered {@link SnapshotStore}, which is the durable copy.
 *
 * <p>Every image the node takes is put in the store in the background, after the instance that was
 * checkpointed has resumed, so publishing never delays an invocation; until the put is done the
 * snapshot is usable locally but not durable. A restore uses the working copy when it is there and
 * otherwise materializes the images from the store first (after a node restart, or once tmpfs was
 * cleared), fetching chunks from the fastest tier that has them. The working copy is RAM, owned by
 * root with owner-only permissions, and removed when the node stops.
 */
final class SnapshotRepository implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("thaw.node");

    private final Path hotRoot;
    private final Optional<SnapshotStore> store;
    private final ExecutorService publisher = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().name("thaw-snapshot-publisher").factory());

    SnapshotRepository(Path hotRoot, Optional<SnapshotStore> store) throws IOException {
        this.hotRoot = Files.createDirectories(hotRoot);
        hotRoot.toFile().setReadable(false, false);
        hotRoot.toFile().setExecutable(false, false);
        hotRoot.toFile().setReadable(true, true);
        hotRoot.toFile().setExecutable(true, true);
        this.store = store;
    }

    /** @return the working-copy directory of a deployment's snapshot */
    Path hotDir(Deployment d) {
        return hotRoot.resolve(d.name()).resolve("v" + d.version());
    }

    static String snapshotId(Deployment d) {
        return d.name() + "@v" + d.version();
    }

    boolean hasStore() {
        return store.isPresent();
    }

    /** Puts the images in the store in the background; {@code log} hears how it went. */
    void publish(Deployment d, Path imagesDir, FunctionLog log) {
        store.ifPresent(s -> publisher.execute(() -> {
            long start = System.nanoTime();
            try {
                var m = s.put(snapshotId(d), imagesDir);
                long chunks = m.files().stream().mapToLong(f -> f.chunks().size()).sum();
                log.append(String.format("SNAPSHOT stored in %d ms: %d files, %d chunks (upload to the remote tier "
                        + "continues in the background)", (System.nanoTime() - start) / 1_000_000, m.files().size(), chunks));
            } catch (ThawException | java.io.UncheckedIOException e) {
                log.append("SNAPSHOT_NOT_STORED " + e.getMessage() + " (the local copy still serves restores)");
                LOG.log(System.Logger.Level.WARNING, d.name() + ": snapshot not stored: " + e.getMessage());
            }
        }));
    }

    /**
     * Makes sure the working copy is there, materializing it from the store if need be.
     *
     * @return true when {@code imagesDir} holds the images
     */
    boolean ensureLocal(Deployment d, Path imagesDir, RestoreReport report) throws IOException {
        if (Files.isDirectory(imagesDir)) {
            return true;
        }
        if (store.isEmpty() || !store.get().list().contains(snapshotId(d))) {
            return false;
        }
        Path staging = imagesDir.resolveSibling("images.materializing-" + Thread.currentThread().threadId());
        FunctionStore.deleteTree(staging);
        long start = System.nanoTime();
        report.source = "store";
        store.get().materialize(snapshotId(d), staging, report.tally);
        report.fetchNanos = System.nanoTime() - start;
        try {
            Files.move(staging, imagesDir, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (java.nio.file.FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
            FunctionStore.deleteTree(staging); // a concurrent restore materialized it first
        }
        return true;
    }

    /** @return true when the store holds this deployment's snapshot */
    boolean isStored(Deployment d) {
        return store.isPresent() && store.get().list().contains(snapshotId(d));
    }

    /** Forgets a deployment's snapshot: the working copy at once, the stored copy in the background. */
    void forget(Deployment d) {
        FunctionStore.deleteTree(hotDir(d));
        store.ifPresent(s -> publisher.execute(() -> {
            try {
                s.delete(snapshotId(d));
            } catch (ThawException e) {
                LOG.log(System.Logger.Level.WARNING, d.name() + ": stored snapshot not deleted: " + e.getMessage());
            }
        }));
    }

    Optional<SnapshotStats> stats(Deployment d) {
        return store.flatMap(s -> s.list().contains(snapshotId(d)) ? Optional.of(s.stats(snapshotId(d))) : Optional.empty());
    }

    List<TierStats> tierStats() {
        return store.map(SnapshotStore::tierStats).orElse(List.of());
    }

    /**
     * Drops a snapshot's copies from the fast places, as a node would once they went cold: the
     * working copy on tmpfs ({@code working}) and the store's local tiers ({@code memory},
     * {@code disk}). The next restore then materializes it from the fastest tier left.
     *
     * @return bytes dropped per place
     */
    Map<String, Long> evict(Deployment d, Path imagesDir, Set<String> places) {
        Set<String> unknown = new TreeSet<>(places);
        unknown.removeAll(Set.of("working", "memory", "disk"));
        if (!unknown.isEmpty() || places.isEmpty()) {
            throw ThawException.invalidRequest("cannot evict snapshot of '%s' from %s: name one or more of working, memory, disk",
                    d.name(), places.isEmpty() ? "nowhere" : unknown);
        }
        if (!isStored(d)) {
            throw new ThawException(dev.thaw.core.ErrorType.InvalidRequest, "the snapshot of '" + d.name()
                    + "' is not in the snapshot store (yet), so its working copy is its only copy and stays", null);
        }
        Map<String, Long> dropped = new TreeMap<>();
        if (places.contains("working")) {
            dropped.put("working", FunctionStore.sizeOf(imagesDir));
            FunctionStore.deleteTree(imagesDir);
        }
        Set<String> tiers = new TreeSet<>(places);
        tiers.remove("working");
        if (!tiers.isEmpty()) {
            dropped.putAll(store.orElseThrow().evict(snapshotId(d), tiers));
        }
        return dropped;
    }

    /** @return how much the stored snapshots of two deployments share */
    dev.thaw.store.DedupStats compare(Deployment a, Deployment b) {
        for (Deployment d : List.of(a, b)) {
            if (!isStored(d)) {
                throw new ThawException(dev.thaw.core.ErrorType.InvalidRequest, "function '" + d.name()
                        + "' has no snapshot in the snapshot store (yet)", null);
            }
        }
        return store.orElseThrow().compare(snapshotId(a), snapshotId(b));
    }

    Optional<GcResult> gc() {
        return store.map(SnapshotStore::gc);
    }

    @Override
    public void close() {
        publisher.shutdown();
        try {
            publisher.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        store.ifPresent(SnapshotStore::close);
        FunctionStore.deleteTree(hotRoot);
    }
}
