package dev.thaw.cluster;

/**
 * A change of the snapshot catalog as this node's watch saw it: a subscriber is first told of every
 * current entry as {@link Published}, then of changes in etcd's order.
 */
public sealed interface CatalogEvent {

    /** @return the entry concerned */
    SnapshotEntry entry();

    /** A snapshot was published for a function version. */
    record Published(SnapshotEntry entry) implements CatalogEvent {
    }

    /** A snapshot was removed (found broken, or its function deleted): the next cold start boots again. */
    record Removed(SnapshotEntry entry) implements CatalogEvent {
    }
}
