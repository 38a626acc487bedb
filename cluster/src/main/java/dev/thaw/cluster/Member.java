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
 * @param idle per function (its name, or {@code name@version}), how many idle warm instances the
 *     node has: where an invocation is answered without a cold start
 * @param transfer {@code host:port} where other nodes pull function-to-function transfer data from
 *     this node, or empty when it takes none
 * @param booting function versions ({@code name@version}) whose snapshot this node's boot is taking
 *     (it holds their boot claims): an invocation sent there waits for that boot instead of starting
 *     another one
 */
public record Member(String id, URI address, int capacity, int load, Set<String> memorySnapshots,
                     Set<String> diskSnapshots, MemberState state, Instant startedAt, java.util.Map<String, Integer> idle,
                     String transfer, Set<String> booting) {

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
        Checks.notNull("member idle instances", idle);
        idle = java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(idle));
        Checks.notNull("member transfer address", transfer);
        booting = sorted("booting function version", booting);
    }

    /** A record that boots nothing. */
    public Member(String id, URI address, int capacity, int load, Set<String> memorySnapshots, Set<String> diskSnapshots,
                  MemberState state, Instant startedAt, java.util.Map<String, Integer> idle, String transfer) {
        this(id, address, capacity, load, memorySnapshots, diskSnapshots, state, startedAt, idle, transfer, Set.of());
    }

    /** A record without a transfer address. */
    public Member(String id, URI address, int capacity, int load, Set<String> memorySnapshots, Set<String> diskSnapshots,
                  MemberState state, Instant startedAt, java.util.Map<String, Integer> idle) {
        this(id, address, capacity, load, memorySnapshots, diskSnapshots, state, startedAt, idle, "");
    }

    /** @return this record with the address other nodes pull transfer data from */
    public Member withTransfer(String value) {
        return new Member(id, address, capacity, load, memorySnapshots, diskSnapshots, state, startedAt, idle, value, booting);
    }

    /** A record without idle-instance counts. */
    public Member(String id, URI address, int capacity, int load, Set<String> memorySnapshots, Set<String> diskSnapshots,
                  MemberState state, Instant startedAt) {
        this(id, address, capacity, load, memorySnapshots, diskSnapshots, state, startedAt, java.util.Map.of());
    }

    /** @return this record with its idle warm instances per function */
    public Member withIdle(java.util.Map<String, Integer> value) {
        return new Member(id, address, capacity, load, memorySnapshots, diskSnapshots, state, startedAt, value, transfer, booting);
    }

    /** @return how many idle warm instances of {@code function} the node has */
    public int idleOf(String function) {
        return idle.getOrDefault(function, 0);
    }

    /** @return an active member with no load and no cached snapshot */
    public static Member of(String id, URI address, int capacity, Instant startedAt) {
        return new Member(id, address, capacity, 0, Set.of(), Set.of(), MemberState.ACTIVE, startedAt);
    }

    /** @return this record with {@code load} */
    public Member withLoad(int value) {
        return new Member(id, address, capacity, value, memorySnapshots, diskSnapshots, state, startedAt, idle, transfer, booting);
    }

    /** @return this record with {@code capacity} */
    public Member withCapacity(int value) {
        return new Member(id, address, value, load, memorySnapshots, diskSnapshots, state, startedAt, idle, transfer, booting);
    }

    /** @return this record with {@code state} */
    public Member withState(MemberState value) {
        return new Member(id, address, capacity, load, memorySnapshots, diskSnapshots, value, startedAt, idle, transfer, booting);
    }

    /** @return this record with the snapshot ids of its memory and disk tiers */
    public Member withSnapshots(Set<String> memory, Set<String> disk) {
        return new Member(id, address, capacity, load, memory, disk, state, startedAt, idle, transfer, booting);
    }

    /** @return this record with the function versions whose snapshot its boots are taking */
    public Member withBooting(Set<String> value) {
        return new Member(id, address, capacity, load, memorySnapshots, diskSnapshots, state, startedAt, idle, transfer, value);
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
