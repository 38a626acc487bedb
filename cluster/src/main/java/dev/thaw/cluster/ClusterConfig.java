package dev.thaw.cluster;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Settings of a {@link Coordination} handle: where etcd is, which cluster and node this is, and the
 * timings of leases, calls and reconnection. Built with {@link #builder()}; {@code endpoints} and
 * {@code nodeId} are required, every other setting has a default named on its builder method.
 */
public final class ClusterConfig {
    private final List<URI> endpoints;
    private final String clusterName;
    private final String nodeId;
    private final String keyPrefix;
    private final Duration leaseTtl;
    private final Duration callTimeout;
    private final Duration memberUpdateInterval;
    private final Duration reconnectBackoffMin;
    private final Duration reconnectBackoffMax;
    private final Duration watchCheckInterval;
    private final Clock clock;

    private ClusterConfig(Builder b) {
        if (b.endpoints.isEmpty()) {
            throw new IllegalArgumentException("at least one etcd endpoint is required (for example http://127.0.0.1:2379)");
        }
        this.endpoints = List.copyOf(b.endpoints);
        this.clusterName = Checks.id("cluster name", b.clusterName);
        this.nodeId = Checks.id("node id", b.nodeId);
        String prefix = b.keyPrefix == null ? "/thaw/" + clusterName + "/" : b.keyPrefix;
        if (!prefix.startsWith("/") || !prefix.endsWith("/") || prefix.length() < 2) {
            throw new IllegalArgumentException("key prefix must start and end with '/', got " + Checks.quote(prefix));
        }
        this.keyPrefix = prefix;
        this.leaseTtl = Checks.atLeast("lease TTL", b.leaseTtl, Duration.ofSeconds(2));
        if (leaseTtl.toMillis() % 1000 != 0) {
            throw new IllegalArgumentException("lease TTL must be whole seconds (etcd's unit), got " + leaseTtl.toMillis() + " ms");
        }
        this.callTimeout = Checks.atLeast("call timeout", b.callTimeout, Duration.ofMillis(100));
        if (callTimeout.multipliedBy(2).compareTo(leaseTtl) > 0) {
            throw new IllegalArgumentException("call timeout must be at most half the lease TTL (a renewal that waits that long"
                    + " leaves time for another), got " + callTimeout.toMillis() + " ms with a TTL of " + leaseTtl.toSeconds() + " s");
        }
        this.memberUpdateInterval = Checks.atLeast("member update interval", b.memberUpdateInterval, Duration.ZERO);
        this.reconnectBackoffMin = Checks.atLeast("reconnect backoff minimum", b.reconnectBackoffMin, Duration.ofMillis(10));
        this.reconnectBackoffMax = Checks.atLeast("reconnect backoff maximum", b.reconnectBackoffMax, reconnectBackoffMin);
        this.watchCheckInterval = Checks.atLeast("watch check interval", b.watchCheckInterval, Duration.ofMillis(100));
        this.clock = Checks.notNull("clock", b.clock);
    }

    /** @return a builder with every default set */
    public static Builder builder() {
        return new Builder();
    }

    /** @return etcd's client URLs, as given */
    public List<URI> endpoints() {
        return endpoints;
    }

    /** @return the cluster's name, part of the default key prefix */
    public String clusterName() {
        return clusterName;
    }

    /** @return this node's id: its membership key, and the name on its deploys, claims and snapshots */
    public String nodeId() {
        return nodeId;
    }

    /** @return the prefix of every key this handle reads or writes, {@code /thaw/<cluster>/} by default */
    public String keyPrefix() {
        return keyPrefix;
    }

    /** @return TTL of the handle's lease: how long after its last keep-alive a dead node's records disappear */
    public Duration leaseTtl() {
        return leaseTtl;
    }

    /** @return the bound on each call to etcd; a call that takes longer fails as {@link ClusterException.Unavailable} */
    public Duration callTimeout() {
        return callTimeout;
    }

    /** @return the least time between two writes of this node's member record by {@link Membership#update} */
    public Duration memberUpdateInterval() {
        return memberUpdateInterval;
    }

    /** @return the first pause between reconnection attempts while etcd is unreachable */
    public Duration reconnectBackoffMin() {
        return reconnectBackoffMin;
    }

    /** @return the longest pause between reconnection attempts */
    public Duration reconnectBackoffMax() {
        return reconnectBackoffMax;
    }

    /** @return how long the cluster watch may stay silent before its liveness is checked with a progress request */
    public Duration watchCheckInterval() {
        return watchCheckInterval;
    }

    /** @return the clock of the timestamps written in records (never used to order anything) */
    public Clock clock() {
        return clock;
    }

    @Override
    public String toString() {
        return "ClusterConfig[endpoints=" + endpoints + ", cluster=" + clusterName + ", node=" + nodeId + ", prefix="
                + keyPrefix + ", leaseTtl=" + leaseTtl + ", callTimeout=" + callTimeout + "]";
    }

    /** Collects the settings; each method names its default. */
    public static final class Builder {
        private final List<URI> endpoints = new ArrayList<>();
        private String clusterName = "default";
        private String nodeId;
        private String keyPrefix;
        private Duration leaseTtl = Duration.ofSeconds(5);
        private Duration callTimeout = Duration.ofSeconds(2);
        private Duration memberUpdateInterval = Duration.ofSeconds(1);
        private Duration reconnectBackoffMin = Duration.ofMillis(250);
        private Duration reconnectBackoffMax = Duration.ofSeconds(2);
        private Duration watchCheckInterval = Duration.ofSeconds(5);
        private Clock clock = Clock.systemUTC();

        private Builder() {
        }

        /** Adds etcd client URLs ({@code http://host:port}); at least one is required. */
        public Builder endpoints(URI... values) {
            for (URI value : values) {
                Checks.notNull("endpoint", value);
                if (!"http".equals(value.getScheme()) || value.getHost() == null || value.getPort() < 0) {
                    throw new IllegalArgumentException("etcd endpoint must be http://host:port, got '" + value + "'");
                }
                endpoints.add(value);
            }
            return this;
        }

        /** Adds etcd client URLs. */
        public Builder endpoints(List<URI> values) {
            return endpoints(values.toArray(URI[]::new));
        }

        /** The cluster's name (default {@code default}); nodes of one cluster share it. */
        public Builder clusterName(String value) {
            this.clusterName = value;
            return this;
        }

        /** This node's id, unique in the cluster (required): letters, digits, '.', '_', '-'. */
        public Builder nodeId(String value) {
            this.nodeId = value;
            return this;
        }

        /** The key prefix (default {@code /thaw/<cluster name>/}); must start and end with '/'. */
        public Builder keyPrefix(String value) {
            this.keyPrefix = value;
            return this;
        }

        /** TTL of the node's lease, whole seconds, at least 2 s (etcd's floor; default 5 s). */
        public Builder leaseTtl(Duration value) {
            this.leaseTtl = value;
            return this;
        }

        /** Bound on each call to etcd, at most half the lease TTL (default 2 s). */
        public Builder callTimeout(Duration value) {
            this.callTimeout = value;
            return this;
        }

        /** Least time between two rate-limited writes of the member record (default 1 s). */
        public Builder memberUpdateInterval(Duration value) {
            this.memberUpdateInterval = value;
            return this;
        }

        /** First and longest pause between reconnection attempts (default 250 ms and 2 s). */
        public Builder reconnectBackoff(Duration min, Duration max) {
            this.reconnectBackoffMin = min;
            this.reconnectBackoffMax = max;
            return this;
        }

        /** Silence after which the cluster watch is asked for a progress notification (default 5 s). */
        public Builder watchCheckInterval(Duration value) {
            this.watchCheckInterval = value;
            return this;
        }

        /** Clock of record timestamps (default UTC system clock). */
        public Builder clock(Clock value) {
            this.clock = value;
            return this;
        }

        /**
         * @return the settings
         * @throws IllegalArgumentException naming the first bad value
         */
        public ClusterConfig build() {
            return new ClusterConfig(this);
        }
    }
}
