package dev.thaw.node.xdt;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.function.Supplier;

/**
 * The transfers' Prometheus metrics ({@code thaw_xdt_*}), on the node's registry: puts and gets
 * by function and, for gets, by where the bytes came from ({@code local}: this node's buffers;
 * {@code remote}: another node's; {@code s3}: a durable copy), their bytes and time; refusals by
 * reason; what this node served to other nodes; durable uploads; what the buffers hold.
 */
public final class XdtMetrics {
    private static final double[] BUCKETS = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

    private final Counter puts;
    private final Counter putBytes;
    private final Counter gets;
    private final Counter getBytes;
    private final Histogram seconds;
    private final Counter refusals;
    private final Counter served;
    private final Counter servedBytes;
    private final Counter uploads;
    private final Counter uploadBytes;

    public XdtMetrics(PrometheusRegistry registry) {
        puts = Counter.builder().name("thaw_xdt_puts_total").help("XDT puts buffered, by the function that put")
                .labelNames("function_name").register(registry);
        putBytes = Counter.builder().name("thaw_xdt_put_bytes_total").help("Bytes put through XDT")
                .labelNames("function_name").register(registry);
        gets = Counter.builder().name("thaw_xdt_gets_total")
                .help("XDT reads served to functions of this node, by where the bytes came from (local, remote, s3)")
                .labelNames("function_name", "source").register(registry);
        getBytes = Counter.builder().name("thaw_xdt_get_bytes_total").help("Bytes read through XDT")
                .labelNames("function_name", "source").register(registry);
        seconds = Histogram.builder().name("thaw_xdt_transfer_seconds")
                .help("Time of XDT puts and gets, from the first byte of the request to the last of the answer")
                .classicUpperBounds(BUCKETS).labelNames("op", "source").register(registry);
        refusals = Counter.builder().name("thaw_xdt_refusals_total")
                .help("XDT requests refused or failed, by reason (FORGED, EXPIRED, USED_UP, FULL, LOST, ...)")
                .labelNames("reason").register(registry);
        served = Counter.builder().name("thaw_xdt_served_total").help("Pulls this node served to other nodes")
                .register(registry);
        servedBytes = Counter.builder().name("thaw_xdt_served_bytes_total")
                .help("Bytes this node served to other nodes").register(registry);
        uploads = Counter.builder().name("thaw_xdt_durable_uploads_total")
                .help("Durable copies written to S3, by result (ok, failed)").labelNames("result").register(registry);
        uploadBytes = Counter.builder().name("thaw_xdt_durable_upload_bytes_total")
                .help("Bytes of durable copies written to S3").register(registry);
    }

    /** Exposes what the buffers hold, read at scrape time. */
    public void buffers(PrometheusRegistry registry, Supplier<XdtBuffers.Stats> stats) {
        GaugeWithCallback.builder().name("thaw_xdt_buffer_bytes").help("Bytes XDT buffers hold, by tier (memory, disk)")
                .labelNames("tier").callback(cb -> {
                    XdtBuffers.Stats s = stats.get();
                    cb.call(s.memoryBytes(), "memory");
                    cb.call(s.diskBytes(), "disk");
                }).register(registry);
        GaugeWithCallback.builder().name("thaw_xdt_buffer_limit_bytes").help("Bounds of the XDT buffers, by tier")
                .labelNames("tier").callback(cb -> {
                    XdtBuffers.Stats s = stats.get();
                    cb.call(s.memoryBound(), "memory");
                    cb.call(s.diskBound(), "disk");
                }).register(registry);
        GaugeWithCallback.builder().name("thaw_xdt_buffer_objects").help("Objects XDT buffers hold")
                .callback(cb -> cb.call(stats.get().objects())).register(registry);
    }

    void put(String function, long bytes, long nanos) {
        puts.labelValues(function).inc();
        putBytes.labelValues(function).inc(bytes);
        seconds.labelValues("put", "local").observe(nanos / 1e9);
    }

    void get(String function, String source, long bytes, long nanos) {
        gets.labelValues(function, source).inc();
        getBytes.labelValues(function, source).inc(bytes);
        seconds.labelValues("get", source).observe(nanos / 1e9);
    }

    void refused(Refusal.Reason reason) {
        refusals.labelValues(reason.name()).inc();
    }

    void served(long bytes) {
        served.inc();
        servedBytes.inc(bytes);
    }

    void uploaded(boolean ok, long bytes) {
        uploads.labelValues(ok ? "ok" : "failed").inc();
        if (ok) {
            uploadBytes.inc(bytes);
        }
    }
}
