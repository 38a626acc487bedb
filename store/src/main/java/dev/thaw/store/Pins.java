package dev.thaw.store;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/*
 * Write leases: what keeps the garbage collector from deleting chunks that no stored manifest
 * references yet.
 *
 * A snapshot being written opens a Lease and pins every chunk it references, written or deduped,
 * before it checks whether the chunk exists. The collector deletes a chunk only inside that
 * chunk's stripe lock and only if it is not pinned; pinning takes the same lock. So either the
 * pin comes first (the collector keeps the chunk) or the deletion does (the writer then sees the
 * chunk missing and writes it again).
 *
 * A lease is released once its manifest is written (and, for the uploader, once the snapshot is
 * durable). If a collection is running then, the release is deferred to its end: the collection
 * may have listed manifests before this one was written, and must keep treating its chunks as
 * live until it finishes. A collection that starts later sees the manifest.
 */
/** Chunk pins held by snapshots being written or uploaded, coordinated with the garbage collector. */
final class Pins {
    private static final int STRIPES = 256;

    private final ConcurrentHashMap<String, Integer> counts = new ConcurrentHashMap<>();
    private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
    private final Object gcState = new Object();
    private int collections;
    private final List<Lease> deferred = new ArrayList<>();

    Pins() {
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new ReentrantLock();
        }
    }

    /** A set of pins released together. */
    final class Lease {
        private final Set<String> names = ConcurrentHashMap.newKeySet();
        private boolean released;

        /** Pins {@code name} for as long as this lease lives. */
        void pin(String name) {
            underLock(name, () -> {
                if (names.add(name)) {
                    counts.merge(name, 1, Integer::sum);
                }
                return null;
            });
        }

        /** Releases every pin, now or at the end of a running collection. */
        void release() {
            synchronized (gcState) {
                if (released) {
                    return;
                }
                released = true;
                if (collections > 0) {
                    deferred.add(this);
                    return;
                }
            }
            unpinAll();
        }

        private void unpinAll() {
            for (String name : names) {
                counts.computeIfPresent(name, (k, v) -> v == 1 ? null : v - 1);
            }
        }
    }

    Lease open() {
        return new Lease();
    }

    boolean pinned(String name) {
        return counts.containsKey(name);
    }

    /** Runs {@code action} while holding {@code name}'s stripe lock. */
    <T> T underLock(String name, Supplier<T> action) {
        ReentrantLock lock = stripes[Math.floorMod(name.hashCode(), STRIPES)];
        lock.lock();
        try {
            return action.get();
        } finally {
            lock.unlock();
        }
    }

    void collectionStarted() {
        synchronized (gcState) {
            collections++;
        }
    }

    void collectionFinished() {
        List<Lease> toRelease;
        synchronized (gcState) {
            collections--;
            if (collections > 0) {
                return;
            }
            toRelease = new ArrayList<>(deferred);
            deferred.clear();
        }
        toRelease.forEach(Lease::unpinAll);
    }
}
