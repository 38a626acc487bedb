package dev.thaw.node;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * How a node joins a cluster. A node without these settings runs alone, with no etcd.
 *
 * @param etcd the etcd client endpoints ({@code http://host:port})
 * @param name the cluster's name: its keys live under {@code /thaw/<name>/} (default {@code default})
 * @param nodeId this node's id, unique in the cluster (1-64 of {@code [A-Za-z0-9._-]})
 * @param advertise the address other nodes and front doors reach this node's API at (default
 *     {@code http://127.0.0.1:<port>})
 * @param leaseTtl how soon the others see this node gone when it dies (default 5 s)
 * @param capacity how many instances this node runs at once before placement prefers others (default 16)
 */
public record ClusterSettings(List<URI> etcd, String name, String nodeId, Optional<URI> advertise, Duration leaseTtl,
                              int capacity) {
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    /** Checks every value, naming the bad one. */
    public ClusterSettings {
        etcd = List.copyOf(Objects.requireNonNull(etcd, "etcd"));
        if (etcd.isEmpty()) {
            throw new IllegalArgumentException("a cluster needs at least one etcd endpoint");
        }
        for (URI u : etcd) {
            if (u.getHost() == null || u.getPort() < 0 || !"http".equals(u.getScheme())) {
                throw new IllegalArgumentException("etcd endpoint '" + u + "' is not http://host:port");
            }
        }
        if (name == null || !ID.matcher(name).matches()) {
            throw new IllegalArgumentException("cluster name '" + name + "' is not 1-64 of letters, digits, '.', '_', '-'");
        }
        if (nodeId == null || !ID.matcher(nodeId).matches()) {
            throw new IllegalArgumentException("node id '" + nodeId + "' is not 1-64 of letters, digits, '.', '_', '-'");
        }
        Objects.requireNonNull(advertise, "advertise");
        advertise.ifPresent(a -> {
            if (a.getHost() == null || a.getPort() < 0) {
                throw new IllegalArgumentException("advertised address '" + a + "' is not http://host:port");
            }
        });
        Objects.requireNonNull(leaseTtl, "leaseTtl");
        if (leaseTtl.toMillis() < 1000) {
            throw new IllegalArgumentException("the lease TTL must be at least 1 s, not " + leaseTtl);
        }
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, not " + capacity);
        }
    }

    /**
     * @param endpoints comma-separated etcd endpoints, as {@code thaw up --cluster} takes them
     * @return settings with the defaults for everything else
     * @throws IllegalArgumentException naming a bad endpoint
     */
    public static ClusterSettings of(String endpoints, String nodeId) {
        List<URI> uris = new java.util.ArrayList<>();
        for (String e : endpoints.split(",")) {
            String s = e.strip();
            if (s.isEmpty()) {
                continue;
            }
            try {
                uris.add(URI.create(s.contains("://") ? s : "http://" + s));
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException("etcd endpoint '" + s + "' is not a URL: " + ex.getMessage());
            }
        }
        return new ClusterSettings(uris, "default", nodeId, Optional.empty(), Duration.ofSeconds(5), 16);
    }

    public ClusterSettings withName(String value) {
        return new ClusterSettings(etcd, value, nodeId, advertise, leaseTtl, capacity);
    }

    public ClusterSettings withAdvertise(URI value) {
        return new ClusterSettings(etcd, name, nodeId, Optional.ofNullable(value), leaseTtl, capacity);
    }

    public ClusterSettings withLeaseTtl(Duration value) {
        return new ClusterSettings(etcd, name, nodeId, advertise, value, capacity);
    }

    public ClusterSettings withCapacity(int value) {
        return new ClusterSettings(etcd, name, nodeId, advertise, leaseTtl, value);
    }
}
