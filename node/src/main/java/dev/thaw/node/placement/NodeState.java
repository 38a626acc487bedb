package dev.thaw.node.placement;

import java.net.URI;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What placement knows of one node of the cluster, as its membership record last said.
 *
 * @param id the node's id
 * @param address its public API
 * @param active false while it drains (no new work)
 * @param capacity how many instances it runs at most
 * @param load how many it runs now
 * @param memorySnapshots snapshot ids its store's memory tier holds
 * @param diskSnapshots snapshot ids its store's disk tier holds
 * @param idle per function, its idle warm instances
 * @param booting functions whose snapshot its boot is taking
 */
public record NodeState(String id, URI address, boolean active, int capacity, int load, Set<String> memorySnapshots,
                        Set<String> diskSnapshots, Map<String, Integer> idle, Set<String> booting) {
    public NodeState {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(address, "address");
        memorySnapshots = Set.copyOf(memorySnapshots);
        diskSnapshots = Set.copyOf(diskSnapshots);
        idle = Map.copyOf(idle);
        booting = Set.copyOf(booting);
    }

    /** A node that boots nothing. */
    public NodeState(String id, URI address, boolean active, int capacity, int load, Set<String> memorySnapshots,
                     Set<String> diskSnapshots, Map<String, Integer> idle) {
        this(id, address, active, capacity, load, memorySnapshots, diskSnapshots, idle, Set.of());
    }

    /** @return load over capacity; a node of no capacity counts as full */
    double utilisation() {
        return capacity <= 0 ? Double.MAX_VALUE : (double) load / capacity;
    }

    boolean full() {
        return load >= capacity;
    }
}
