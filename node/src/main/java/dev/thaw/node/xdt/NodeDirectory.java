package dev.thaw.node.xdt;

import java.util.Map;
import java.util.Objects;

/**
 * Where a node takes transfer requests: the one question a consumer's node asks before it pulls
 * data from a producer's node. A single node answers for itself only (data it holds is handed over
 * locally); a static directory knows a fixed set of peers (tests, small fixed clusters); a cluster
 * answers from its membership (etcd), and can also say that a node has left, so that a pull from
 * it fails at once instead of after a connection timeout.
 *
 * <p>Implementations are called on every remote pull and must answer quickly, from memory.
 */
public interface NodeDirectory {

    /** The answer about one node. */
    sealed interface Location {
        /** The node takes transfer requests at {@code hostPort}. */
        record At(String hostPort) implements Location {
            public At {
                Objects.requireNonNull(hostPort, "hostPort");
            }
        }

        /** The directory knows the node is gone: no request is made. */
        record Gone(String why) implements Location {
        }

        /** The directory does not know the node: the address the reference was signed with is tried. */
        record Unknown() implements Location {
        }
    }

    /**
     * @param nodeId the node a reference names
     * @return where it is, that it is gone, or that this directory does not know it
     */
    Location locate(String nodeId);

    /** @return a directory that knows no node (a single node: every reference it can serve is its own) */
    static NodeDirectory single() {
        return id -> new Location.Unknown();
    }

    /**
     * @param peers node id to {@code host:port} of its transfer listener
     * @return a directory of a fixed set of nodes; others are unknown
     */
    static NodeDirectory of(Map<String, String> peers) {
        Map<String, String> copy = Map.copyOf(peers);
        return id -> {
            String at = copy.get(id);
            return at == null ? new Location.Unknown() : new Location.At(at);
        };
    }
}
