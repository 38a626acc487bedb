package dev.thaw.store;

import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/*
 * Mark and sweep over every tier.
 *
 * Safety against concurrent writers rests on two guards, both checked for each candidate:
 *  1. write leases (Pins): a snapshot being written pins each chunk it references before checking
 *     whether it exists; the sweep deletes a chunk only under that chunk's stripe lock and only if
 *     unpinned; leases released while a collection runs stay in force until it ends (so a manifest
 *     written after the mark phase listed manifests still protects its chunks);
 *  2. a grace period: an unreferenced chunk written less than `grace` before the collection started
 *     is kept. This covers writers the leases cannot see, such as another node sharing the bucket.
 * The mark phase must see every manifest: if the S3 tier cannot be listed, the collection stops
 * before deleting anything; a manifest that cannot be opened stops it too (its references are
 * unknown).
 */
/** The store's garbage collector. */
final class GarbageCollector {
    private final List<MeteredTier> tiers;
    private final Pins pins;
    private final StoreKeys keys;
    private final Supplier<List<SnapshotManifest>> allManifests;
    private final Duration grace;

    GarbageCollector(List<MeteredTier> tiers, Pins pins, StoreKeys keys, Supplier<List<SnapshotManifest>> allManifests,
                     Duration grace) {
        this.tiers = tiers;
        this.pins = pins;
        this.keys = keys;
        this.allManifests = allManifests;
        this.grace = grace;
    }

    GcResult collect() {
        Instant start = Instant.now();
        pins.collectionStarted();
        try {
            List<SnapshotManifest> manifests = allManifests.get();
            Set<String> live = liveChunks(manifests);
            Instant cutoff = start.minus(grace);
            int[] kept = new int[2];
            Map<String, Integer> deleted = new LinkedHashMap<>();
            for (MeteredTier tier : tiers) {
                deleted.put(tier.name(), sweep(tier, live, cutoff, kept));
            }
            return new GcResult(manifests.size(), live.size(), deleted, kept[0], kept[1],
                    Duration.between(start, Instant.now()));
        } finally {
            pins.collectionFinished();
        }
    }

    private Set<String> liveChunks(List<SnapshotManifest> manifests) {
        Set<String> live = new HashSet<>();
        for (SnapshotManifest m : manifests) {
            m.files().forEach(f -> f.chunks().stream().filter(c -> !c.zero())
                    .forEach(c -> live.add(keys.chunkObject(m, c))));
        }
        return live;
    }

    private int sweep(MeteredTier tier, Set<String> live, Instant cutoff, int[] kept) {
        int count = 0;
        for (ObjectTier.ObjectInfo info : tier.list("c/")) {
            if (live.contains(info.key())) {
                continue;
            }
            if (info.lastModified().isAfter(cutoff)) {
                kept[0]++;
                continue;
            }
            boolean gone = pins.underLock(info.key(), () -> {
                if (pins.pinned(info.key())) {
                    return false;
                }
                tier.delete(info.key());
                return true;
            });
            if (gone) {
                count++;
            } else {
                kept[1]++;
            }
        }
        return count;
    }
}
