package dev.thaw.node.placement;

import java.net.URI;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/*
 * Where an invocation runs, decided by the node that received it (any node is a front door).
 *
 * In order: a node with an idle warm instance of the function (no cold start at all), this node
 * first; then a node whose boot is taking the function's snapshot (a deploy boots the version on the
 * node that took it: an invocation there waits for that boot, which cuts its warm-up short and
 * serves it, where another node would wait for the snapshot or start a JVM of its own; the boot's own
 * slot counts as free for it, so a node the boot fills still qualifies); then a node
 * whose store holds the function's snapshot in its memory tier, then in its disk tier (a restore
 * there reads local memory or disk instead of S3: vHive's snapshot-aware scheduling); then the
 * least loaded node. Among equals this node wins, since running here saves the
 * forward. Draining and full nodes are passed over while any other can take the work; when every
 * node is full, the least loaded still gets it (its pool queues or refuses with its own answer).
 * The membership behind the view is updated about once a second, so a choice may be stale: the node
 * chosen then simply starts an instance, which is what it would have done anyway.
 */
/** Chooses the node an invocation runs on (see the comment above). */
public final class Placement {

    /** Where to run. */
    public sealed interface Target permits Local, Remote {
        /** @return why this node was chosen, for logs and {@code describe} */
        String why();
    }

    /** Run it on this node. */
    public record Local(String why) implements Target {
    }

    /** Forward it to another node. */
    public record Remote(String nodeId, URI address, String why) implements Target {
    }

    private final ClusterView view;

    public Placement(ClusterView view) {
        this.view = view;
    }

    /**
     * @param function the function, as it appears in members' idle counts
     * @param snapshotId the id of the function's snapshot in the shared store
     * @return where it runs
     */
    public Target place(String function, String snapshotId) {
        List<NodeState> members = view.members();
        String self = view.selfId();
        List<NodeState> candidates = members.stream().filter(NodeState::active).filter(n -> !n.full()).toList();
        if (candidates.isEmpty()) {
            candidates = members.stream().filter(NodeState::active).toList();
        }
        if (candidates.isEmpty()) {
            return new Local("no other active node");
        }
        Comparator<NodeState> preferSelfThenLoad = Comparator.<NodeState, Boolean>comparing(n -> !n.id().equals(self))
                .thenComparingDouble(NodeState::utilisation).thenComparing(NodeState::id);
        Optional<NodeState> warm = best(candidates, n -> n.idle().getOrDefault(function, 0) > 0,
                Comparator.<NodeState, Boolean>comparing(n -> !n.id().equals(self))
                        .thenComparing(n -> -n.idle().getOrDefault(function, 0))
                        .thenComparingDouble(NodeState::utilisation).thenComparing(NodeState::id));
        if (warm.isPresent()) {
            return target(warm.get(), self, "an idle warm instance");
        }
        // the boot counts in its node's load: a node it fills still takes the invocation the boot will serve
        Optional<NodeState> booting = best(members.stream().filter(NodeState::active).toList(),
                n -> n.booting().contains(function) && n.load() <= n.capacity(), preferSelfThenLoad);
        if (booting.isPresent()) {
            return target(booting.get(), self, "its boot taking the snapshot");
        }
        Optional<NodeState> inMemory = best(candidates, n -> n.memorySnapshots().contains(snapshotId), preferSelfThenLoad);
        if (inMemory.isPresent()) {
            return target(inMemory.get(), self, "the snapshot in its memory tier");
        }
        Optional<NodeState> onDisk = best(candidates, n -> n.diskSnapshots().contains(snapshotId), preferSelfThenLoad);
        if (onDisk.isPresent()) {
            return target(onDisk.get(), self, "the snapshot in its disk tier");
        }
        NodeState least = candidates.stream().min(Comparator.comparingDouble(NodeState::utilisation)
                .thenComparing(n -> !n.id().equals(self)).thenComparing(NodeState::id)).orElseThrow();
        return target(least, self, "the least loaded node");
    }

    private static Optional<NodeState> best(List<NodeState> nodes, Predicate<NodeState> which, Comparator<NodeState> order) {
        return nodes.stream().filter(which).min(order);
    }

    private static Target target(NodeState n, String self, String why) {
        return n.id().equals(self) ? new Local(why) : new Remote(n.id(), n.address(), why);
    }
}
