package dev.thaw.node.metrics;

import dev.thaw.core.FunctionInfo;
import dev.thaw.core.RestoreMode;
import dev.thaw.core.StartKind;
import dev.thaw.node.snapshot.RestoreReport;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The node's Prometheus metrics, in snake_case and labelled {@code function_name} (OpenFaaS's
 * convention), on a registry of the node's own so several nodes in one JVM (tests) never mix.
 * Cold starts follow OpenTelemetry's FaaS vocabulary (init duration, coldstarts) split by how the
 * instance started: {@code boot} or {@code restore}.
 */
public final class NodeMetrics {
    private static final double[] LATENCY_BUCKETS = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter invocations = Counter.builder().name("thaw_function_invocations_total")
            .help("Invocations answered, by function, HTTP status code and start kind (warm, restore, boot)")
            .labelNames("function_name", "code", "start").register(registry);
    private final Histogram duration = Histogram.builder().name("thaw_function_duration_seconds")
            .help("Handler run time as the node saw it").classicUpperBounds(LATENCY_BUCKETS)
            .labelNames("function_name").register(registry);
    private final Histogram coldStarts = Histogram.builder().name("thaw_function_cold_start_seconds")
            .help("Time from starting an instance to its first request for work (faas.init_duration)")
            .classicUpperBounds(LATENCY_BUCKETS).labelNames("function_name", "start").register(registry);
    private final Counter coldStartCount = Counter.builder().name("thaw_function_coldstarts_total")
            .help("Instances started (faas.coldstarts), by start kind").labelNames("function_name", "start")
            .register(registry);
    private final Counter restoreFailures = Counter.builder().name("thaw_snapshot_restore_failures_total")
            .help("Restores that failed and were replaced by a boot").labelNames("function_name").register(registry);
    private final Histogram checkpoints = Histogram.builder().name("thaw_snapshot_checkpoint_seconds")
            .help("Duration of CRIU dumps").classicUpperBounds(LATENCY_BUCKETS).labelNames("function_name")
            .register(registry);
    private final Gauge snapshotBytes = Gauge.builder().name("thaw_snapshot_size_bytes")
            .help("Size of the function's snapshot image").labelNames("function_name").register(registry);
    private final Counter restores = Counter.builder().name("thaw_restore_total")
            .help("Restores that served a first invocation, by restore mode and where the image came from (local, store)")
            .labelNames("function_name", "mode", "source").register(registry);
    private final Counter restorePages = Counter.builder().name("thaw_restore_pages_total")
            .help("Pages lazy and REAP restores installed, by how: up_front (prefetched working set) or on_demand (faults)")
            .labelNames("function_name", "mode", "how").register(registry);
    private final Counter restoreFetchBytes = Counter.builder().name("thaw_restore_fetch_bytes_total")
            .help("Bytes restores read from the snapshot store, by tier").labelNames("function_name", "tier")
            .register(registry);
    private final Histogram restoreFetch = Histogram.builder().name("thaw_restore_fetch_seconds")
            .help("Time restores spent fetching from the store (materializing, or the working set)")
            .classicUpperBounds(LATENCY_BUCKETS).labelNames("function_name", "mode").register(registry);
    private final Gauge workingSetBytes = Gauge.builder().name("thaw_restore_working_set_bytes")
            .help("Working-set bytes of the function's last lazy or REAP restore").labelNames("function_name", "mode")
            .register(registry);
    private final Gauge instances = Gauge.builder().name("thaw_function_instances")
            .help("Instances by state").labelNames("function_name", "state").register(registry);
    private final Gauge queued = Gauge.builder().name("thaw_function_queued_invocations")
            .help("Invocations waiting for an instance").labelNames("function_name").register(registry);

    /** @return the node's registry, for the metrics of the node's other parts (transfers) */
    public PrometheusRegistry registry() {
        return registry;
    }

    /**
     * Exposes the snapshot store's per-tier counters, read at scrape time: hits, misses, bytes read
     * and written, errors, integrity failures (objects that failed verification, also counted as
     * errors), stored bytes, and the read latency as a summary (median and 99th percentile since
     * the store opened, with the count and sum of the reads it covers).
     */
    public void storeTiers(java.util.function.Supplier<java.util.List<dev.thaw.store.TierStats>> tiers) {
        counter("thaw_store_tier_hits_total", "Chunk reads a tier answered", tiers, dev.thaw.store.TierStats::hits);
        counter("thaw_store_tier_misses_total", "Chunk reads a tier did not have", tiers, dev.thaw.store.TierStats::misses);
        counter("thaw_store_tier_read_bytes_total", "Bytes read from a tier", tiers, dev.thaw.store.TierStats::bytesRead);
        counter("thaw_store_tier_written_bytes_total", "Bytes written to a tier", tiers, dev.thaw.store.TierStats::bytesWritten);
        counter("thaw_store_tier_errors_total", "Failed tier operations, objects that failed verification included", tiers,
                dev.thaw.store.TierStats::errors);
        counter("thaw_store_integrity_failures_total", "Objects (chunks, manifests) of a tier that failed verification:"
                + " authentication tag, plaintext hash or length", tiers, dev.thaw.store.TierStats::integrityFailures);
        io.prometheus.metrics.core.metrics.GaugeWithCallback.builder().name("thaw_store_tier_stored_bytes")
                .help("Bytes a tier holds").labelNames("tier")
                .callback(cb -> tiers.get().forEach(t -> cb.call(t.storedBytes(), t.tier()))).register(registry);
        io.prometheus.metrics.core.metrics.SummaryWithCallback.builder().name("thaw_store_tier_read_latency_seconds")
                .help("Chunk read latency of a tier (the time to find an object, found or not), since the store opened")
                .labelNames("tier")
                .callback(cb -> tiers.get().forEach(t -> cb.call(t.getCount(), t.getSumMicros() / 1e6,
                        io.prometheus.metrics.model.snapshots.Quantiles.of(
                                new io.prometheus.metrics.model.snapshots.Quantile(0.5, t.getP50Micros() / 1e6),
                                new io.prometheus.metrics.model.snapshots.Quantile(0.99, t.getP99Micros() / 1e6)),
                        t.tier()))).register(registry);
    }

    /** Exposes how many times the store's idle background work starved and was run at the normal priority for a while. */
    public void storeBackgroundBoosts(java.util.function.LongSupplier boosts) {
        io.prometheus.metrics.core.metrics.CounterWithCallback.builder().name("thaw_store_background_boosts_total")
                .help("Times the snapshot store's idle background work (uploads, fills, publishing) starved behind busy"
                        + " cores and ran at normal priority for a while")
                .callback(cb -> cb.call(boosts.getAsLong())).register(registry);
    }

    /** Exposes, per function, the memory restores hold to serve pages, read at scrape time. */
    public void restoreHeldBytes(java.util.function.Supplier<java.util.Map<String, Long>> held) {
        io.prometheus.metrics.core.metrics.GaugeWithCallback.builder().name("thaw_restore_held_bytes")
                .help("Memory the node holds for restores still serving pages: prefetched working sets and decrypted"
                        + " chunks, freed once every page is installed")
                .labelNames("function_name")
                .callback(cb -> held.get().forEach((function, bytes) -> cb.call(bytes, function))).register(registry);
    }

    private void counter(String name, String help, java.util.function.Supplier<java.util.List<dev.thaw.store.TierStats>> tiers,
                         java.util.function.ToLongFunction<dev.thaw.store.TierStats> value) {
        io.prometheus.metrics.core.metrics.CounterWithCallback.builder().name(name).help(help).labelNames("tier")
                .callback(cb -> tiers.get().forEach(t -> cb.call(value.applyAsLong(t), t.tier()))).register(registry);
    }

    private final Counter forwarded = Counter.builder().name("thaw_cluster_forwarded_total")
            .help("Invocations this node received and placement ran on another node of the cluster, by that node")
            .labelNames("function_name", "node").register(registry);

    private final Counter freshenCalls = Counter.builder().name("thaw_freshen_calls_total")
            .help("Freshen hook calls before predicted invocations, by outcome (completed, failed, cut_off, refused, no_hook)")
            .labelNames("function_name", "outcome").register(registry);
    private final Histogram freshenSeconds = Histogram.builder().name("thaw_freshen_duration_seconds")
            .help("Time freshen hooks took (capped per call)").classicUpperBounds(LATENCY_BUCKETS)
            .labelNames("function_name").register(registry);
    private final Counter predictedClones = Counter.builder().name("thaw_predicted_clones_total")
            .help("Clones restored because a chain predicted an invocation, by the function that predicted it")
            .labelNames("function_name", "after").register(registry);

    public void freshen(String function, String outcome) {
        freshenCalls.labelValues(function, outcome).inc();
    }

    public void freshenDuration(String function, double seconds) {
        freshenSeconds.labelValues(function).observe(seconds);
    }

    public void predictedClone(String function, String after) {
        predictedClones.labelValues(function, after).inc();
    }

    /** Exposes each chain's predictions (made, used, wasted), read at scrape time. */
    public void predictions(java.util.function.Supplier<java.util.List<dev.thaw.scaling.ChainOutcome>> outcomes) {
        io.prometheus.metrics.core.metrics.CounterWithCallback.builder().name("thaw_predictions_total")
                .help("Invocations predicted from function chains, by outcome: used (it came within the window) or wasted")
                .labelNames("from", "to", "outcome")
                .callback(cb -> outcomes.get().forEach(o -> {
                    cb.call(o.used(), o.from(), o.to(), "used");
                    cb.call(o.wasted(), o.from(), o.to(), "wasted");
                })).register(registry);
    }

    /** An invocation this node received ran on {@code node}. */
    public void forwarded(String function, String node) {
        forwarded.labelValues(function, node).inc();
    }

    public void invocation(String function, String code, StartKind start, double seconds) {
        invocations.labelValues(function, code, start.wireName()).inc();
        duration.labelValues(function).observe(seconds);
    }

    public void coldStart(String function, StartKind start, double seconds) {
        coldStarts.labelValues(function, start.wireName()).observe(seconds);
        coldStartCount.labelValues(function, start.wireName()).inc();
    }

    /** Records the figures of a restore once its first invocation answered. */
    public void restore(String function, RestoreReport r) {
        restores.labelValues(function, r.mode.wireName(), r.source).inc();
        r.tally.bytesByTier().forEach((tier, bytes) -> restoreFetchBytes.labelValues(function, tier).inc(bytes));
        if (r.fetchNanos > 0) {
            restoreFetch.labelValues(function, r.mode.wireName()).observe(r.fetchNanos / 1e9);
        }
        if (r.mode != RestoreMode.EAGER) {
            restorePages.labelValues(function, r.mode.wireName(), "up_front").inc(r.pagesUpFront);
            restorePages.labelValues(function, r.mode.wireName(), "on_demand").inc(r.faultsOnDemand);
            workingSetBytes.labelValues(function, r.mode.wireName()).set(r.workingSetBytes);
        }
    }

    public void restoreFailure(String function) {
        restoreFailures.labelValues(function).inc();
    }

    public void checkpoint(String function, double seconds, long bytes) {
        checkpoints.labelValues(function).observe(seconds);
        snapshotBytes.labelValues(function).set(bytes);
    }

    public void instances(String function, FunctionInfo.InstanceCounts counts) {
        instances.labelValues(function, "starting").set(counts.starting());
        instances.labelValues(function, "idle").set(counts.idle());
        instances.labelValues(function, "busy").set(counts.busy());
        queued.labelValues(function).set(counts.queued());
    }

    // ---- egress ----------------------------------------------------------------------------------

    private final Counter egress = Counter.builder().name("thaw_egress_connections_total")
            .help("Connections sandboxed instances asked the egress proxy for, by the allow list's verdict (allowed,"
                    + " denied; connections beyond an instance's limit count as denied)")
            .labelNames("function_name", "verdict").register(registry);

    /** Counts one connection an instance asked the egress proxy for. */
    public void egress(String function, boolean allowed) {
        egress.labelValues(function, allowed ? "allowed" : "denied").inc();
    }

    // ---- asynchronous invocations ----------------------------------------------------------------

    private final Counter eventsQueued = Counter.builder().name("thaw_events_queued_total")
            .help("Asynchronous (Event) invocations accepted").labelNames("function_name").register(registry);
    private final Counter eventsRetried = Counter.builder().name("thaw_events_retried_total")
            .help("Event attempts that failed and were scheduled again").labelNames("function_name").register(registry);
    private final Counter eventsRefused = Counter.builder().name("thaw_events_refused_total")
            .help("Event attempts a full pool refused (tried again, not counted as attempts)")
            .labelNames("function_name").register(registry);
    private final Counter eventsSucceeded = Counter.builder().name("thaw_events_succeeded_total")
            .help("Events whose function answered").labelNames("function_name").register(registry);
    private final Counter eventsDead = Counter.builder().name("thaw_events_dead_lettered_total")
            .help("Events that failed for good and went to their function's dead letters").labelNames("function_name")
            .register(registry);

    private final Counter eventsAdopted = Counter.builder().name("thaw_events_adopted_total")
            .help("Events this node took over from a node that left the cluster before they ended").labelNames("function_name")
            .register(registry);

    /** @return what the event worker reports, as counters */
    public dev.thaw.node.event.EventWorker.Observer events() {
        return new dev.thaw.node.event.EventWorker.Observer() {
            @Override
            public void queued(String function) {
                eventsQueued.labelValues(function).inc();
            }

            @Override
            public void retried(String function) {
                eventsRetried.labelValues(function).inc();
            }

            @Override
            public void refused(String function) {
                eventsRefused.labelValues(function).inc();
            }

            @Override
            public void succeeded(String function) {
                eventsSucceeded.labelValues(function).inc();
            }

            @Override
            public void deadLettered(String function) {
                eventsDead.labelValues(function).inc();
            }

            @Override
            public void adopted(String function) {
                eventsAdopted.labelValues(function).inc();
            }
        };
    }

    /** Exposes how many events wait or run, read at scrape time. */
    public void eventsPending(java.util.function.IntSupplier pending) {
        io.prometheus.metrics.core.metrics.GaugeWithCallback.builder().name("thaw_events_pending")
                .help("Asynchronous invocations waiting for an attempt or running")
                .callback(cb -> cb.call(pending.getAsInt())).register(registry);
    }

    public String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }

    public byte[] scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
