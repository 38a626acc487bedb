package dev.thaw.node;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * How a node runs expedited data transfers (XDT): its buffers, the longest time to live a put may
 * ask for, where other nodes pull from it, and its identity in references.
 *
 * @param memoryBytes native memory put data may hold (default 512 MiB; 0: straight to disk)
 * @param diskBytes disk put data may hold once memory is full, under {@code DATA_DIR/xdt/buffers}
 *     (default 8 GiB); a put that fits in neither is refused
 * @param maxTtl the longest time to live a put may ask for (default 1 hour)
 * @param listenHost where the transfer listener listens (default 127.0.0.1; a cluster node listens
 *     where the other nodes reach it)
 * @param listenPort its port (default 0: any free port)
 * @param advertise {@code host:port} other nodes reach the listener at, when not the bound address
 * @param nodeId the node's id in references (default: generated on first start, kept in
 *     {@code DATA_DIR/node-id}); 1-64 of letters, digits, {@code .}, {@code _}, {@code -}
 * @param keyFile the cluster's transfer key file (default {@code DATA_DIR/xdt.key}, created on
 *     first start); every node of a cluster must hold the same one
 * @param peers other nodes' transfer listeners by node id ({@code host:port}): a fixed directory,
 *     until the cluster's membership provides one
 */
public record XdtSettings(long memoryBytes, long diskBytes, Duration maxTtl, String listenHost, int listenPort,
                          Optional<String> advertise, Optional<String> nodeId, Optional<Path> keyFile,
                          Map<String, String> peers) {

    /** The defaults. */
    public static final XdtSettings DEFAULT = new XdtSettings(512L << 20, 8L << 30, Duration.ofHours(1), "127.0.0.1", 0,
            Optional.empty(), Optional.empty(), Optional.empty(), Map.of());

    /** Checks the values, so a bad setting fails when the node is configured. */
    public XdtSettings {
        Objects.requireNonNull(maxTtl, "maxTtl");
        Objects.requireNonNull(listenHost, "listenHost");
        Objects.requireNonNull(advertise, "advertise");
        Objects.requireNonNull(nodeId, "nodeId");
        Objects.requireNonNull(keyFile, "keyFile");
        peers = Map.copyOf(peers);
        if (memoryBytes < 0 || diskBytes < 0) {
            throw new IllegalArgumentException("XDT buffer bounds must be >= 0 bytes, got memory " + memoryBytes
                    + " and disk " + diskBytes);
        }
        if (maxTtl.isNegative() || maxTtl.isZero() || maxTtl.compareTo(Duration.ofHours(24)) > 0) {
            throw new IllegalArgumentException("the XDT maximum time to live must be more than 0 and at most 24 h, not "
                    + maxTtl);
        }
        if (listenPort < 0 || listenPort > 65_535) {
            throw new IllegalArgumentException("the XDT listener port must be 0-65535, got " + listenPort);
        }
        nodeId.ifPresent(id -> {
            if (!id.matches("[A-Za-z0-9._-]{1,64}")) {
                throw new IllegalArgumentException("a node id is 1-64 of letters, digits, '.', '_' or '-', not '" + id + "'");
            }
        });
        advertise.ifPresent(XdtSettings::checkHostPort);
        peers.forEach((id, at) -> checkHostPort(at));
    }

    private static void checkHostPort(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        try {
            if (colon <= 0 || Integer.parseInt(hostPort.substring(colon + 1)) <= 0) {
                throw new NumberFormatException();
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a host:port: '" + hostPort + "'");
        }
    }

    /** @return these settings with other buffer bounds */
    public XdtSettings withBuffers(long memory, long disk) {
        return new XdtSettings(memory, disk, maxTtl, listenHost, listenPort, advertise, nodeId, keyFile, peers);
    }

    /** @return these settings with another maximum time to live */
    public XdtSettings withMaxTtl(Duration value) {
        return new XdtSettings(memoryBytes, diskBytes, value, listenHost, listenPort, advertise, nodeId, keyFile, peers);
    }

    /** @return these settings listening elsewhere */
    public XdtSettings withListen(String host, int port) {
        return new XdtSettings(memoryBytes, diskBytes, maxTtl, host, port, advertise, nodeId, keyFile, peers);
    }

    /** @return these settings advertising another address (null: the bound one) */
    public XdtSettings withAdvertise(String hostPort) {
        return new XdtSettings(memoryBytes, diskBytes, maxTtl, listenHost, listenPort, Optional.ofNullable(hostPort),
                nodeId, keyFile, peers);
    }

    /** @return these settings with another node id (null: the one kept in the data directory) */
    public XdtSettings withNodeId(String id) {
        return new XdtSettings(memoryBytes, diskBytes, maxTtl, listenHost, listenPort, advertise, Optional.ofNullable(id),
                keyFile, peers);
    }

    /** @return these settings with another key file (null: the data directory's) */
    public XdtSettings withKeyFile(Path file) {
        return new XdtSettings(memoryBytes, diskBytes, maxTtl, listenHost, listenPort, advertise, nodeId,
                Optional.ofNullable(file), peers);
    }

    /** @return these settings with a fixed directory of peers */
    public XdtSettings withPeers(Map<String, String> value) {
        return new XdtSettings(memoryBytes, diskBytes, maxTtl, listenHost, listenPort, advertise, nodeId, keyFile, value);
    }
}
