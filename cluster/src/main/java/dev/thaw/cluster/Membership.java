package dev.thaw.cluster;

import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * Who is in the cluster. A node {@link #join joins} with its {@link Member} record, stored under the
 * handle's lease: it stays while the handle renews the lease and goes within the lease's TTL when
 * the node dies, or at once on {@link #leave()}. Every handle keeps a live view of all members.
 */
public interface Membership {

    /**
     * Registers this node's record and keeps it registered (across reconnections and lease losses)
     * until {@link #leave()}.
     *
     * @param self this node's record; its id must be {@link ClusterConfig#nodeId()}
     * @throws IllegalStateException if already joined
     * @throws ClusterException.Unavailable if etcd cannot be reached (the node has not joined then)
     */
    void join(Member self);

    /**
     * Changes this node's record, cheaply: the change applies locally at once and is written at most
     * once per {@link ClusterConfig#memberUpdateInterval()} (changes in between are coalesced: the
     * last record wins). Never blocks and never fails for etcd's sake; while etcd is unreachable the
     * record is written on reconnection.
     *
     * @param change maps the current record to the new one; it must keep the id
     * @throws IllegalStateException if not joined
     */
    void update(UnaryOperator<Member> change);

    /**
     * Changes this node's record and writes it now, returning once etcd has it: for changes the
     * others must see before the node goes on (for example {@link MemberState#DRAINING}).
     *
     * @throws IllegalStateException if not joined
     * @throws ClusterException.Unavailable if etcd cannot be reached (the change is kept and written on reconnection)
     */
    void updateNow(UnaryOperator<Member> change);

    /**
     * Leaves the cluster: revokes the handle's lease, which deletes the member record and every boot
     * claim of this node at once, then takes a fresh lease for later claims. No-op if not joined.
     *
     * @throws ClusterException.Unavailable if etcd cannot be reached; the node counts as left anyway
     *     and its record expires within the lease's TTL
     */
    void leave();

    /** @return this node's record as last set, if joined */
    Optional<Member> self();

    /**
     * The members as this node's watch last saw them, sorted by id, this node included once its record
     * is registered. Never calls etcd: while disconnected it is the last known view (members that
     * died meanwhile are still in it until the reconnection's resync).
     */
    List<Member> members();

    /** @return one member of {@link #members()} */
    Optional<Member> member(String id);

    /** Tells {@code listener} of every current member ({@link MemberEvent.Joined}), then of every change. */
    Subscription subscribe(Consumer<MemberEvent> listener);
}
