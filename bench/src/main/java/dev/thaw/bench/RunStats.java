package dev.thaw.bench;

import dev.thaw.core.StartKind;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;

/** The statistics of a run, per sweep value, function and start kind; warm-up requests are left out. */
final class RunStats {
    static final List<String> START_ORDER = List.of("warm", "restore", "boot", "unknown", "all");

    /**
     * One line of the statistics: latency (from the intended send time) of the successful requests.
     *
     * @param sweep the sweep value, or null
     * @param start a start kind's wire name, or {@code all} when a function saw more than one
     * @param errors failed requests of this sweep value and function (shown on each of its rows)
     * @param overheadP50 warm rows of thaw targets: p50 of service time minus X-Thaw-Duration-Ms; else NaN
     */
    record Row(String sweep, String function, String start, long n, long errors, double mean, double p50, double p90,
               double p99, double p999, double max, double overheadP50, double overheadP99) {
        double tmr() {
            return p99 / p50;
        }
    }

    /** Medians of the cold-start phases: the node's restore or init, the handler, and what is left. */
    record Phase(String sweep, String function, String start, long n, double phaseMs, double handlerMs, double restMs,
                 double latencyMs) {
    }

    /**
     * A chain's transfer at one payload size: its end-to-end latency, and the effective bandwidth as
     * the XDT study defines it, payload bytes over end-to-end latency (median latency here).
     *
     * @param vsStore this transfer's bandwidth over the {@code store} transfer's at the same size (NaN without one)
     */
    record Transfer(String sweep, String function, String transfer, long bytes, long n, long errors, double p50,
                    double mean, double p99, double mibPerSecond, double vsStore) {
    }

    private RunStats() {
    }

    /** @return one row per sweep value and chain function, the store's row of a size giving the ratio */
    static List<Transfer> transfers(RunConfig config, List<RequestRecord> all) {
        List<RequestRecord> records = measured(all);
        Map<String, RunConfig.FunctionSpec> chains = new LinkedHashMap<>();
        config.functions().stream().filter(f -> f.chain() != null).forEach(f -> chains.put(f.name(), f));
        List<Transfer> out = new ArrayList<>();
        if (chains.isEmpty()) {
            return out;
        }
        boolean bySweep = config.sweep() != null && "payloadBytes".equals(config.sweep().parameter());
        for (String sweep : sweeps(records)) {
            List<Transfer> rows = new ArrayList<>();
            for (RunConfig.FunctionSpec f : chains.values()) {
                List<RequestRecord> mine = records.stream()
                        .filter(r -> Objects.equals(r.sweepValue(), sweep) && r.function().equals(f.name())).toList();
                if (mine.isEmpty()) {
                    continue;
                }
                long bytes = bySweep ? Math.round(Double.parseDouble(sweep)) : f.chain().payloadBytes();
                List<RequestRecord> ok = mine.stream().filter(RequestRecord::ok).toList();
                LatencyStats st = stats(ok, RequestRecord::latencyMs);
                double p50 = ok.isEmpty() ? Double.NaN : st.median();
                rows.add(new Transfer(sweep, f.name(), f.chain().transferOrDefault(), bytes, ok.size(),
                        mine.size() - ok.size(), p50, ok.isEmpty() ? Double.NaN : st.mean(),
                        ok.isEmpty() ? Double.NaN : st.p99(), bytes / 1048576.0 / (p50 / 1000), Double.NaN));
            }
            double storeP50 = rows.stream().filter(t -> t.transfer().equals("store") && t.n() > 0)
                    .mapToDouble(Transfer::p50).findFirst().orElse(Double.NaN);
            for (Transfer t : rows) {
                out.add(new Transfer(t.sweep(), t.function(), t.transfer(), t.bytes(), t.n(), t.errors(), t.p50(), t.mean(),
                        t.p99(), t.mibPerSecond(), storeP50 / t.p50()));
            }
        }
        return out;
    }

    /** @return a size in B, KiB or MiB */
    static String size(long bytes) {
        if (bytes >= 1 << 20 && bytes % (1 << 20) == 0) {
            return (bytes >> 20) + " MiB";
        }
        if (bytes >= 1024 && bytes % 1024 == 0) {
            return (bytes >> 10) + " KiB";
        }
        return bytes + " B";
    }

    static List<RequestRecord> measured(List<RequestRecord> records) {
        return records.stream().filter(r -> !r.warmup()).toList();
    }

    static List<Row> rows(List<RequestRecord> all) {
        List<RequestRecord> records = measured(all);
        List<Row> rows = new ArrayList<>();
        for (String sweep : sweeps(records)) {
            for (String function : functions(records)) {
                List<RequestRecord> mine = records.stream()
                        .filter(r -> Objects.equals(r.sweepValue(), sweep) && r.function().equals(function)).toList();
                if (mine.isEmpty()) {
                    continue;
                }
                long errors = mine.stream().filter(r -> !r.ok()).count();
                List<RequestRecord> ok = mine.stream().filter(RequestRecord::ok).toList();
                Set<String> kinds = new LinkedHashSet<>();
                START_ORDER.forEach(k -> {
                    if (ok.stream().anyMatch(r -> r.startKind().wireName().equals(k))) {
                        kinds.add(k);
                    }
                });
                if (kinds.size() > 1) {
                    kinds.add("all");
                }
                if (kinds.isEmpty()) {
                    rows.add(row(sweep, function, "-", List.of(), errors));
                }
                for (String kind : kinds) {
                    List<RequestRecord> group = "all".equals(kind) ? ok
                            : ok.stream().filter(r -> r.startKind().wireName().equals(kind)).toList();
                    rows.add(row(sweep, function, kind, group, errors));
                }
            }
        }
        return rows;
    }

    private static Row row(String sweep, String function, String kind, List<RequestRecord> group, long errors) {
        LatencyStats s = stats(group, RequestRecord::latencyMs);
        double o50 = Double.NaN;
        double o99 = Double.NaN;
        if ("warm".equals(kind)) {
            LatencyStats o = stats(group.stream().filter(r -> !Double.isNaN(r.durationMs())).toList(),
                    RequestRecord::overheadMs);
            o50 = o.median();
            o99 = o.p99();
        }
        return new Row(sweep, function, kind, s.count(), errors, s.mean(), s.median(), s.percentile(90), s.p99(),
                s.percentile(99.9), s.max(), o50, o99);
    }

    static LatencyStats stats(List<RequestRecord> records, ToDoubleFunction<RequestRecord> value) {
        LatencyStats s = new LatencyStats();
        records.forEach(r -> s.record(value.applyAsDouble(r)));
        return s;
    }

    static List<Phase> phases(List<RequestRecord> all) {
        List<RequestRecord> records = measured(all);
        List<Phase> out = new ArrayList<>();
        for (String sweep : sweeps(records)) {
            for (String function : functions(records)) {
                for (StartKind kind : List.of(StartKind.RESTORE, StartKind.BOOT)) {
                    Predicate<RequestRecord> mine = r -> r.ok() && Objects.equals(r.sweepValue(), sweep)
                            && r.function().equals(function) && r.startKind() == kind && !Double.isNaN(r.coldPhaseMs());
                    List<RequestRecord> group = records.stream().filter(mine).toList();
                    if (group.isEmpty()) {
                        continue;
                    }
                    double phase = stats(group, RequestRecord::coldPhaseMs).median();
                    double handler = stats(group, r -> Double.isNaN(r.durationMs()) ? 0 : r.durationMs()).median();
                    double latency = stats(group, RequestRecord::serviceMs).median();
                    out.add(new Phase(sweep, function, kind.wireName(), group.size(), phase, handler,
                            Math.max(0, latency - phase - handler), latency));
                }
            }
        }
        return out;
    }

    /** @return sweep values in order of appearance (a single null without a sweep) */
    static List<String> sweeps(List<RequestRecord> records) {
        Set<String> s = new LinkedHashSet<>();
        records.forEach(r -> s.add(r.sweepValue()));
        return new ArrayList<>(s);
    }

    static List<String> functions(List<RequestRecord> records) {
        Set<String> s = new LinkedHashSet<>();
        records.forEach(r -> s.add(r.function()));
        return new ArrayList<>(s);
    }

    /** @return the overall warm overhead (all functions, all sweep values): {p50, p99, n} */
    static double[] overallOverhead(List<RequestRecord> all) {
        List<RequestRecord> warm = measured(all).stream()
                .filter(r -> r.ok() && r.startKind() == StartKind.WARM && !Double.isNaN(r.durationMs())).toList();
        LatencyStats s = stats(warm, RequestRecord::overheadMs);
        return new double[] {s.median(), s.p99(), s.count()};
    }

    /** @return the text printed and saved as stats.txt */
    static String render(RunConfig config, List<RequestRecord> records, List<Row> rows) {
        StringBuilder b = new StringBuilder();
        String nl = System.lineSeparator();
        boolean sweep = config.sweep() != null;
        b.append("scenario ").append(config.name() == null ? "-" : config.name()).append(": ")
                .append(config.target().thaw() ? "thaw node " : "HTTP endpoint ").append(config.target().url())
                .append(", seed ").append(config.seedOrDefault()).append(", ")
                .append(config.load().open() ? "open loop" : "closed loop x" + config.load().concurrencyOrDefault())
                .append(nl);
        b.append("latency in ms from the intended send time (client-side queueing included); warm-up excluded").append(nl);
        List<String> header = new ArrayList<>(List.of("function", "start", "n", "errors", "mean", "p50", "p90", "p99",
                "p99.9", "max", "p99/p50"));
        if (sweep) {
            header.addFirst(config.sweep().parameter());
        }
        TextTable t = TextTable.numeric(header.toArray(String[]::new));
        for (Row r : rows) {
            List<String> cells = new ArrayList<>(List.of(r.function(), r.start(), Long.toString(r.n()),
                    Long.toString(r.errors()), f(r.mean()), f(r.p50()), f(r.p90()), f(r.p99()), f(r.p999()), f(r.max()),
                    f2(r.tmr())));
            if (sweep) {
                cells.addFirst(r.sweep());
            }
            t.row(cells.toArray(String[]::new));
        }
        b.append(t.render());
        if (config.target().thaw()) {
            List<Row> warm = rows.stream().filter(r -> "warm".equals(r.start()) && !Double.isNaN(r.overheadP50())).toList();
            if (!warm.isEmpty()) {
                b.append(nl).append("node overhead on warm calls (client service time - X-Thaw-Duration-Ms), ms").append(nl);
                TextTable o = TextTable.numeric(sweep ? new String[] {config.sweep().parameter(), "function", "n", "p50", "p99"}
                        : new String[] {"function", "n", "p50", "p99"});
                for (Row r : warm) {
                    String[] cells = {r.function(), Long.toString(r.n()), f(r.overheadP50()), f(r.overheadP99())};
                    o.row(sweep ? prepend(r.sweep(), cells) : cells);
                }
                double[] all = overallOverhead(records);
                String[] total = {"(all)", Long.toString((long) all[2]), f(all[0]), f(all[1])};
                o.row(sweep ? prepend("", total) : total);
                b.append(o.render());
            }
            List<Transfer> transfers = transfers(config, records);
            if (!transfers.isEmpty()) {
                b.append(nl).append("chain transfers: end-to-end latency of the chain in ms, effective bandwidth ="
                        + " payload / median latency (MiB/s), and that bandwidth over the store transfer's").append(nl);
                TextTable x = TextTable.numeric("payload", "function", "transfer", "n", "errors", "p50", "mean", "p99",
                        "MiB/s", "x store");
                for (Transfer tr : transfers) {
                    x.row(size(tr.bytes()), tr.function(), tr.transfer(), Long.toString(tr.n()), Long.toString(tr.errors()),
                            f(tr.p50()), f(tr.mean()), f(tr.p99()), f(tr.mibPerSecond()), f2(tr.vsStore()));
                }
                b.append(x.render());
            }
            List<Phase> phases = phases(records);
            if (!phases.isEmpty()) {
                b.append(nl).append("cold starts, medians in ms: node phase (X-Thaw-Restore-Ms / X-Thaw-Init-Ms),"
                        + " handler (X-Thaw-Duration-Ms), rest (HTTP, queueing, client)").append(nl);
                TextTable p = TextTable.numeric(sweep
                        ? new String[] {config.sweep().parameter(), "function", "start", "n", "phase", "handler", "rest", "total"}
                        : new String[] {"function", "start", "n", "phase", "handler", "rest", "total"});
                for (Phase ph : phases) {
                    String[] cells = {ph.function(), ph.start(), Long.toString(ph.n()), f(ph.phaseMs()), f(ph.handlerMs()),
                            f(ph.restMs()), f(ph.latencyMs())};
                    p.row(sweep ? prepend(ph.sweep(), cells) : cells);
                }
                b.append(p.render());
            }
        }
        return b.toString();
    }

    private static String[] prepend(String first, String[] rest) {
        String[] out = new String[rest.length + 1];
        out[0] = first;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }

    static String f(double v) {
        if (Double.isNaN(v)) {
            return "-";
        }
        return String.format(Locale.ROOT, Math.abs(v) >= 100 ? "%.1f" : "%.2f", v);
    }

    static String f2(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "-" : String.format(Locale.ROOT, "%.2f", v);
    }

    /** @return rows grouped by function and start kind, for the percentile-vs-sweep chart */
    static Map<String, List<Row>> bySeries(List<Row> rows) {
        Map<String, List<Row>> m = new LinkedHashMap<>();
        rows.stream().filter(r -> r.n() > 0).forEach(r -> m.computeIfAbsent(r.function() + " / " + r.start(),
                k -> new ArrayList<>()).add(r));
        return m;
    }
}
