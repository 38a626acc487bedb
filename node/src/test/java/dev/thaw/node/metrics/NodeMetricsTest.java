package dev.thaw.node.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.store.TierStats;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The store's per-tier figures as the node's {@code /metrics} exposes them. */
class NodeMetricsTest {
    // disk: 84 objects failed verification, 86 errors in all; 10 gets, 30 ms together, median 2 ms, p99 9 ms
    private static final TierStats DISK = new TierStats("disk", 7, 3, 4096, 8192, 2, 1, 84, 86, 84, 1 << 20, 8L << 30,
            2_000, 9_000, 9_500, 10, 30_000);
    private static final TierStats S3 = new TierStats("s3", 1, 0, 512, 0, 0, 0, 0, 0, 0, -1, -1, 0, 0, 0, 0, 0);

    private static String scrape() {
        NodeMetrics metrics = new NodeMetrics();
        metrics.storeTiers(() -> List.of(DISK, S3));
        return new String(metrics.scrape(), StandardCharsets.UTF_8);
    }

    @Test
    void integrityFailuresAreCountedPerTierAndAmongTheErrors() {
        String text = scrape();
        assertThat(text).contains("# TYPE thaw_store_integrity_failures_total counter")
                .contains("thaw_store_integrity_failures_total{tier=\"disk\"} 84.0")
                .contains("thaw_store_integrity_failures_total{tier=\"s3\"} 0.0")
                .contains("thaw_store_tier_errors_total{tier=\"disk\"} 86.0");
    }

    @Test
    void readLatencyIsASummaryWithQuantilesCountAndSum() {
        String text = scrape();
        assertThat(text).contains("# TYPE thaw_store_tier_read_latency_seconds summary")
                .contains("thaw_store_tier_read_latency_seconds{tier=\"disk\",quantile=\"0.5\"} 0.002\n")
                .contains("thaw_store_tier_read_latency_seconds{tier=\"disk\",quantile=\"0.99\"} 0.009\n")
                .contains("thaw_store_tier_read_latency_seconds_count{tier=\"disk\"} 10\n")
                .contains("thaw_store_tier_read_latency_seconds_sum{tier=\"disk\"} 0.03\n")
                .contains("thaw_store_tier_read_latency_seconds_count{tier=\"s3\"} 0\n")
                .doesNotContain("# TYPE thaw_store_tier_read_latency_seconds gauge");
    }
}
