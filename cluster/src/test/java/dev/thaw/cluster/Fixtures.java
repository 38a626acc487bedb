package dev.thaw.cluster;

import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/** Short timings, handles closed after each test, and waiting for conditions. */
final class Fixtures implements AutoCloseable {
    static final Duration TTL = Duration.ofSeconds(2);
    private static final AtomicInteger CLUSTERS = new AtomicInteger();

    private final List<AutoCloseable> open = new ArrayList<>();
    private final URI endpoint;
    final String cluster;

    Fixtures(URI endpoint) {
        this.endpoint = endpoint;
        this.cluster = "c" + CLUSTERS.incrementAndGet() + "-" + ProcessHandle.current().pid();
    }

    /** Timings of the tests: 2 s leases, 1 s call bound, fast reconnection and watch checks. */
    static ClusterConfig.Builder config(URI endpoint, String cluster, String node) {
        return ClusterConfig.builder()
                .endpoints(endpoint)
                .clusterName(cluster)
                .nodeId(node)
                .leaseTtl(TTL)
                .callTimeout(Duration.ofSeconds(1))
                .memberUpdateInterval(Duration.ofMillis(200))
                .reconnectBackoff(Duration.ofMillis(50), Duration.ofMillis(500))
                .watchCheckInterval(Duration.ofSeconds(1));
    }

    ClusterConfig.Builder config(String node) {
        return config(endpoint, cluster, node);
    }

    /** Connects a handle of this test's cluster, closed with the fixtures. */
    EtcdCoordination connect(String node) {
        return track((EtcdCoordination) Coordination.connect(config(node).build()));
    }

    EtcdCoordination connect(ClusterConfig config) {
        return track((EtcdCoordination) Coordination.connect(config));
    }

    <T extends AutoCloseable> T track(T c) {
        open.add(c);
        return c;
    }

    static Member member(String id) {
        return Member.of(id, URI.create("http://127.0.0.1:8080/" + id), 8, Instant.parse("2026-12-05T00:00:00Z"));
    }

    static Deployment deployment(String name, String hash) {
        return new Deployment(name, "{\"handler\":\"a.B::handle\",\"memoryMb\":256}", hash, 1234, "code/" + hash);
    }

    /** Polls {@code condition} every 20 ms until it holds or {@code timeout} passes. */
    static void await(String what, Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for: " + what);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for: " + what);
            }
        }
    }

    /** Closes every handle, last first; failures of one do not keep the others open. */
    @Override
    public void close() {
        for (int i = open.size() - 1; i >= 0; i--) {
            try {
                open.get(i).close();
            } catch (Exception e) {
                // closing others matters more
            }
        }
        open.clear();
    }
}
