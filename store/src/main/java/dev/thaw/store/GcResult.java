package dev.thaw.store;

import java.time.Duration;
import java.util.Map;

/**
 * What one garbage collection did.
 *
 * @param manifests manifests marked from
 * @param liveChunks distinct chunks they reference
 * @param deleted chunks deleted, per tier name
 * @param keptRecent unreferenced chunks kept because they were written within the grace period
 * @param keptLeased unreferenced chunks kept because a snapshot being written references them
 * @param took how long the collection ran
 */
public record GcResult(int manifests, int liveChunks, Map<String, Integer> deleted, int keptRecent, int keptLeased,
                       Duration took) {
    /** Copies {@code deleted} so that the record is immutable. */
    public GcResult {
        deleted = Map.copyOf(deleted);
    }

    /** @return chunks deleted over all tiers */
    public int totalDeleted() {
        return deleted.values().stream().mapToInt(Integer::intValue).sum();
    }
}
