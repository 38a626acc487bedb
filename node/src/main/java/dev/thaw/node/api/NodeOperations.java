package dev.thaw.node.api;

import dev.thaw.core.FunctionInfo;
import dev.thaw.core.FunctionManifest;
import dev.thaw.node.pool.Invocation;
import dev.thaw.store.DedupStats;
import dev.thaw.store.GcResult;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the HTTP API asks of the node behind it. The routes parse and check requests and shape
 * answers; everything they do to functions, instances and snapshots goes through here, so the API
 * is the node's edge and nothing else.
 */
public interface NodeOperations {

    /** @return whether snapshots are on, why (or why not), and counts, for {@code /healthz} */
    Map<String, Object> health();

    /** @return the Prometheus exposition's content type */
    String metricsContentType();

    /** @return the node's metrics in the Prometheus text format */
    byte[] scrapeMetrics();

    List<FunctionInfo> describeAll();

    FunctionInfo describe(String name);

    boolean isDeployed(String name);

    FunctionInfo deploy(FunctionManifest manifest, byte[] code);

    /** @return the version that was deleted */
    long delete(String name);

    List<String> logs(String name, int tail);

    /** @return how many idle instances were stopped */
    int evict(String name) throws InterruptedException;

    /** Accepts an invocation; the returned invocation's future completes with its answer. */
    Invocation invoke(String name, byte[] payload);

    List<Map<String, Object>> snapshotReports();

    Map<String, Object> snapshotReport(String name);

    Map<String, Long> evictSnapshot(String name, Set<String> places);

    Map<String, Object> loadSnapshot(String name) throws IOException;

    DedupStats compareSnapshots(String name, String other);

    GcResult gc();
}
