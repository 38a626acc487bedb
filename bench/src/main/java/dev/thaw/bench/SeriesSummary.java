package dev.thaw.bench;

import dev.thaw.core.StartKind;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The statistics of one series of one function.
 *
 * @param function example function name
 * @param series the series
 * @param n number of requests
 * @param medianMs median client latency
 * @param p99Ms 99th percentile client latency
 * @param minMs fastest request
 * @param maxMs slowest request
 * @param serverMedianMs median of the node's phase numbers (init, restore or duration), NaN when none
 * @param startKinds how often each start kind was seen
 */
record SeriesSummary(String function, Series series, long n, double medianMs, double p99Ms, double minMs, double maxMs,
                     double serverMedianMs, Map<StartKind, Long> startKinds) {

    SeriesSummary {
        startKinds = Map.copyOf(startKinds);
    }

    static SeriesSummary of(String function, Series series, List<Sample> samples) {
        LatencyStats client = new LatencyStats();
        LatencyStats server = new LatencyStats();
        Map<StartKind, Long> kinds = new EnumMap<>(StartKind.class);
        for (Sample s : samples) {
            client.record(s.clientMs());
            s.serverPhaseMs().ifPresent(server::record);
            kinds.merge(s.startKind(), 1L, Long::sum);
        }
        return new SeriesSummary(function, series, client.count(), client.median(), client.p99(), client.min(),
                client.max(), server.median(), kinds);
    }

    /** @return how many requests did not start the way the series expects */
    long unexpectedStarts() {
        return n - startKinds.getOrDefault(series.expected(), 0L);
    }

    /** @return e.g. {@code restore=18;boot=2}, most frequent first */
    String startKindsText() {
        return startKinds.entrySet().stream()
                .sorted(Map.Entry.<StartKind, Long>comparingByValue().reversed()
                        .thenComparing(Map.Entry.comparingByKey()))
                .map(e -> e.getKey().wireName() + "=" + e.getValue())
                .collect(Collectors.joining(";"));
    }
}
