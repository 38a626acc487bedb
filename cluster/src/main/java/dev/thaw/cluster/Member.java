package dev.thaw.cluster;

import java.net.URI;
import java.time.Instant;
import java.util.Set;
import java.util.TreeSet;

/**
 * A node's membership record, stored under its lease: what the other nodes need to route work to
 * it and to find snapshots near it.
 *
 * @param id the node's id ({@link ClusterConfig#nodeId()})
 * @param address the node's public API address
 * @param capacity how much work the node takes, in the node's own unit (for example instance slots)
 * @param load how much of {@code capacity} is in use now, same unit
 * @param memorySnapshots ids of the snapshots its store's memory tier holds
 * @param diskSnapshots ids of the snapshots its store's disk tier holds
 * @param state active or draining
 * @param startedAt when the node started (its own clock: informative only)
 */
public record Member(String id, URI address, int capacity, int load, Set<String> memorySnapshots,
                     Set<String> diskSnapshots, MemberState state, Instant startedAt) {

    /** Validates and copies the sets (sorted, unmodifiable). */
    public Member {
        Checks.id("member id", id);
        Checks.notNull("member address", address);
        Checks.notNegative("member capacity", capacity);
        Checks.notNegative("member load", load);
        memorySnapshots = sorted("memory snapshot id", memorySnapshots);
        diskSnapshots = sorted("disk snapshot id", diskSnapshots);
        Checks.notNull("member state", state);
        Checks.notNull("member start time", startedAt);
    }

    /** @return an active member with no load and no cached snapshot */
    public static Member of(String id, URI address, int capacity, Instant startedAt) {
        return new Member(id, address, capacity, 0, Set.of(), Set.of(), MemberState.ACTIVE, startedAt);
    }

    /** @return this record with {@code load} */
    public Member withLoad(int value) {
        return new Member(id, address, capacity, value, memorySnapshots, diskSnapshots, state, startedAt);
    }

    /** @return this record with {@code capacity} */
    public Member withCapacity(int value) {
        return new Member(id, address, value, load, memorySnapshots, diskSnapshots, state, startedAt);
    }

    /** @return this record with {@code state} */
    public Member withState(MemberState value) {
        return new Member(id, address, capacity, load, memorySnapshots, diskSnapshots, value, startedAt);
    }

    /** @return this record with the snapshot ids of its memory and disk tiers */
    public Member withSnapshots(Set<String> memory, Set<String> disk) {
        return new Member(id, address, capacity, load, memory, disk, state, startedAt);
    }

    /** @return whether either tier of this node holds the snapshot */
    public boolean caches(String snapshotId) {
        return memorySnapshots.contains(snapshotId) || diskSnapshots.contains(snapshotId);
    }

    private static Set<String> sorted(String what, Set<String> ids) {
        Checks.notNull(what + "s", ids);
        TreeSet<String> copy = new TreeSet<>();
        for (String s : ids) {
            copy.add(Checks.text(what, s));
        }
        return java.util.Collections.unmodifiableSortedSet(copy);
    }
}
