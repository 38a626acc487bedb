package dev.thaw.node.placement;

import java.util.List;

/** The live members of the cluster as this node sees them (from etcd's membership, or a fake in tests). */
public interface ClusterView {
    /** @return this node's id */
    String selfId();

    /** @return every live member, this node included */
    List<NodeState> members();
}
