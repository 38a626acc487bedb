package dev.thaw.cluster;

/**
 * A change of the cluster's membership as this node's watch saw it. A subscriber is first told of
 * every current member as {@link Joined}, then of changes in etcd's order.
 */
public sealed interface MemberEvent {

    /** @return the member concerned, as it is now (or, for {@link Left}, as it was last seen) */
    Member member();

    /** A member appeared (joined, or was there when the subscription began or came back after a resync). */
    record Joined(Member member) implements MemberEvent {
    }

    /** A member rewrote its record (load, cached snapshots, state). */
    record Updated(Member previous, Member member) implements MemberEvent {
    }

    /** A member's record went: it left, or its lease expired because it stopped renewing it (it died). */
    record Left(Member member) implements MemberEvent {
    }
}
