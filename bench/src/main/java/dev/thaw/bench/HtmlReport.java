package dev.thaw.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The run's report: one self-contained HTML file with hand-written inline SVG charts (no script, no
 * external resource): latency CDFs per function and start kind, percentiles against the swept
 * parameter, and the cold-start phase breakdown.
 */
final class HtmlReport {
    private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
            "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    private static final int W = 760;
    private static final int H = 380;
    private static final int L = 70;
    private static final int R = 220;
    private static final int T = 30;
    private static final int B = 50;

    record Series(String name, double[] x, double[] y) {
    }

    private HtmlReport() {
    }

    static String render(RunConfig config, List<RequestRecord> records, List<RunStats.Row> rows, String table,
                         List<String> failures) {
        String title = "thaw bench run: " + (config.name() == null ? "scenario" : config.name());
        StringBuilder b = new StringBuilder();
        b.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>").append(esc(title)).append("</title>\n")
                .append("<style>body{font-family:sans-serif;margin:24px;max-width:1000px}pre{background:#f6f6f6;"
                        + "padding:8px;overflow-x:auto;font-size:12px}table{border-collapse:collapse;font-size:13px}"
                        + "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#eee}"
                        + "svg{background:#fff;border:1px solid #ddd;margin:8px 0}</style></head><body>\n");
        b.append("<h1>").append(esc(title)).append("</h1>\n");
        if (config.description() != null) {
            b.append("<p>").append(esc(config.description())).append("</p>\n");
        }
        b.append("<p>target ").append(esc(config.target().url())).append(" (").append(config.target().thaw() ? "thaw" : "http")
                .append("), seed ").append(config.seedOrDefault()).append(", ")
                .append(RunStats.measured(records).size()).append(" measured requests</p>\n");
        if (!failures.isEmpty()) {
            b.append("<p style=\"color:#b00\"><b>Failures:</b> ").append(esc(String.join("; ", failures))).append("</p>\n");
        }
        b.append("<h2 id=\"statistics\">Statistics</h2>\n").append(statsTable(config, rows));
        b.append("<h2 id=\"cdf\">Latency CDFs</h2>\n<p>Latency from the intended send time, per function and start kind"
                + (config.sweep() != null ? " and " + esc(config.sweep().parameter()) : "") + " (log x axis).</p>\n");
        b.append(lineChart("Latency CDF", "latency (ms)", "fraction of requests", cdfs(records), true, true));
        b.append("<h2 id=\"sweep\">Percentiles against the swept parameter</h2>\n");
        if (config.sweep() == null) {
            b.append("<p>No sweep in this run.</p>\n");
        } else {
            b.append(lineChart("p50 and p99 by " + config.sweep().parameter(), config.sweep().parameter(), "latency (ms)",
                    percentileSeries(rows), true, false));
        }
        b.append("<h2 id=\"phases\">Cold-start phase breakdown</h2>\n");
        List<RunStats.Phase> phases = RunStats.phases(records);
        if (phases.isEmpty()) {
            b.append("<p>No cold start measured (or the target reports no phases).</p>\n");
        } else {
            b.append("<p>Medians per function and start kind: the node's restore or init phase, the handler"
                    + " (X-Thaw-Duration-Ms), and the rest of the client-side latency.</p>\n").append(phaseChart(phases));
        }
        b.append("<h2 id=\"text\">Text output</h2>\n<pre>").append(esc(table)).append("</pre>\n");
        b.append("<h2 id=\"config\">Configuration</h2>\n<pre>").append(esc(config.toJson())).append("</pre>\n");
        b.append("</body></html>\n");
        return b.toString();
    }

    private static String statsTable(RunConfig config, List<RunStats.Row> rows) {
        StringBuilder b = new StringBuilder("<table><tr>");
        if (config.sweep() != null) {
            b.append("<th>").append(esc(config.sweep().parameter())).append("</th>");
        }
        for (String h : List.of("function", "start", "n", "errors", "mean", "p50", "p90", "p99", "p99.9", "max", "p99/p50",
                "overhead p50", "overhead p99")) {
            b.append("<th>").append(h).append("</th>");
        }
        b.append("</tr>\n");
        for (RunStats.Row r : rows) {
            b.append("<tr>");
            if (config.sweep() != null) {
                b.append("<td>").append(esc(r.sweep())).append("</td>");
            }
            for (String c : List.of(r.function(), r.start(), Long.toString(r.n()), Long.toString(r.errors()),
                    RunStats.f(r.mean()), RunStats.f(r.p50()), RunStats.f(r.p90()), RunStats.f(r.p99()),
                    RunStats.f(r.p999()), RunStats.f(r.max()), RunStats.f2(r.tmr()), RunStats.f(r.overheadP50()),
                    RunStats.f(r.overheadP99()))) {
                b.append("<td>").append(esc(c)).append("</td>");
            }
            b.append("</tr>\n");
        }
        return b.append("</table>\n").toString();
    }

    static List<Series> cdfs(List<RequestRecord> all) {
        List<RequestRecord> records = RunStats.measured(all).stream().filter(RequestRecord::ok).toList();
        Map<String, List<Double>> groups = new LinkedHashMap<>();
        for (RequestRecord r : records) {
            String key = (r.sweepValue() == null ? "" : r.sweepValue() + ": ") + r.function() + " / " + r.startKind().wireName();
            groups.computeIfAbsent(key, k -> new ArrayList<>()).add(r.latencyMs());
        }
        List<Series> out = new ArrayList<>();
        groups.forEach((name, values) -> {
            double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            int points = Math.min(v.length, 300);
            double[] x = new double[points];
            double[] y = new double[points];
            for (int i = 0; i < points; i++) {
                int idx = points == v.length ? i : (int) Math.round((double) i * (v.length - 1) / (points - 1));
                x[i] = Math.max(v[idx], 0.001);
                y[i] = (idx + 1) / (double) v.length;
            }
            out.add(new Series(name + " (n=" + v.length + ")", x, y));
        });
        return out;
    }

    static List<Series> percentileSeries(List<RunStats.Row> rows) {
        List<Series> out = new ArrayList<>();
        RunStats.bySeries(rows).forEach((name, list) -> {
            double[] x = list.stream().mapToDouble(r -> Double.parseDouble(r.sweep())).toArray();
            out.add(new Series(name + " p50", x, list.stream().mapToDouble(RunStats.Row::p50).toArray()));
            out.add(new Series(name + " p99", x, list.stream().mapToDouble(RunStats.Row::p99).toArray()));
        });
        return out;
    }

    /** A line chart; with logX the x axis is log10 (values must be > 0). */
    static String lineChart(String title, String xLabel, String yLabel, List<Series> series, boolean logX, boolean unitY) {
        List<Series> drawn = series.stream().filter(s -> s.x().length > 0).toList();
        if (drawn.isEmpty()) {
            return "<p>No data.</p>\n";
        }
        double xmin = drawn.stream().flatMapToDouble(s -> Arrays.stream(s.x())).filter(v -> !logX || v > 0).min().orElse(1);
        double xmax = drawn.stream().flatMapToDouble(s -> Arrays.stream(s.x())).max().orElse(1);
        double ymax = unitY ? 1 : drawn.stream().flatMapToDouble(s -> Arrays.stream(s.y())).filter(v -> !Double.isNaN(v))
                .max().orElse(1) * 1.05;
        double lo = logX ? Math.floor(Math.log10(xmin)) : Math.min(0, xmin);
        double hi = logX ? Math.ceil(Math.log10(xmax)) : xmax;
        if (hi <= lo) {
            hi = lo + 1;
        }
        double xlo = lo;
        double xhi = hi;
        java.util.function.DoubleUnaryOperator px = v -> L + ((logX ? Math.log10(Math.max(v, 1e-9)) : v) - xlo) / (xhi - xlo) * (W - L - R);
        java.util.function.DoubleUnaryOperator py = v -> T + (1 - v / ymax) * (H - T - B);
        StringBuilder b = svgStart(title);
        // axes and grid
        b.append(line(L, H - B, W - R, H - B, "#000")).append(line(L, T, L, H - B, "#000"));
        if (logX) {
            for (int e = (int) lo; e <= (int) hi; e++) {
                double x = px.applyAsDouble(Math.pow(10, e));
                b.append(line(x, T, x, H - B, "#eee")).append(text(x, H - B + 15, fmt(Math.pow(10, e)), "middle", 11));
            }
        } else {
            for (int i = 0; i <= 5; i++) {
                double v = xlo + (xhi - xlo) * i / 5;
                double x = px.applyAsDouble(v);
                b.append(line(x, T, x, H - B, "#eee")).append(text(x, H - B + 15, fmt(v), "middle", 11));
            }
        }
        for (int i = 0; i <= 5; i++) {
            double v = ymax * i / 5;
            double y = py.applyAsDouble(v);
            b.append(line(L, y, W - R, y, "#eee")).append(text(L - 5, y + 4, fmt(v), "end", 11));
        }
        b.append(text((L + W - R) / 2.0, H - 12, xLabel, "middle", 12));
        b.append(String.format(Locale.ROOT, "<text x=\"15\" y=\"%d\" font-size=\"12\" transform=\"rotate(-90 15 %d)\" "
                + "text-anchor=\"middle\">%s</text>\n", (T + H - B) / 2, (T + H - B) / 2, esc(yLabel)));
        for (int i = 0; i < drawn.size(); i++) {
            Series s = drawn.get(i);
            String color = COLORS[i % COLORS.length];
            String dash = i >= COLORS.length || s.name().endsWith(" p99") ? " stroke-dasharray=\"5,3\"" : "";
            StringBuilder pts = new StringBuilder();
            for (int k = 0; k < s.x().length; k++) {
                if (Double.isNaN(s.y()[k])) {
                    continue;
                }
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", px.applyAsDouble(s.x()[k]), py.applyAsDouble(s.y()[k])));
            }
            b.append("<polyline fill=\"none\" stroke=\"").append(color).append("\" stroke-width=\"1.8\"").append(dash)
                    .append(" points=\"").append(pts.toString().trim()).append("\"/>\n");
            if (s.x().length <= 12) {
                for (int k = 0; k < s.x().length; k++) {
                    b.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n",
                            px.applyAsDouble(s.x()[k]), py.applyAsDouble(s.y()[k]), color));
                }
            }
            legend(b, i, color, s.name());
        }
        return b.append("</svg>\n").toString();
    }

    static String phaseChart(List<RunStats.Phase> phases) {
        int barH = 22;
        int height = T + phases.size() * (barH + 10) + B;
        double max = phases.stream().mapToDouble(p -> p.phaseMs() + p.handlerMs() + p.restMs()).max().orElse(1) * 1.05;
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
                W, height, W, height));
        b.append(text(W / 2.0, 18, "Cold-start phases (medians, ms)", "middle", 14));
        int left = 200;
        String[] names = {"restore / init (node)", "handler", "rest (HTTP, client)"};
        String[] colors = {"#1f77b4", "#ff7f0e", "#9e9e9e"};
        for (int i = 0; i < phases.size(); i++) {
            RunStats.Phase p = phases.get(i);
            double y = T + i * (barH + 10);
            String label = (p.sweep() == null ? "" : p.sweep() + ": ") + p.function() + " / " + p.start();
            b.append(text(left - 6, y + barH / 2.0 + 4, label, "end", 11));
            double x = left;
            double[] parts = {p.phaseMs(), p.handlerMs(), p.restMs()};
            for (int k = 0; k < 3; k++) {
                double w = parts[k] / max * (W - left - 40);
                b.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\">"
                        + "<title>%s: %.2f ms</title></rect>\n", x, y, Math.max(0, w), barH, colors[k], names[k], parts[k]));
                x += Math.max(0, w);
            }
            b.append(text(x + 4, y + barH / 2.0 + 4, fmt(p.phaseMs() + p.handlerMs() + p.restMs()), "start", 10));
        }
        double ly = height - 20;
        for (int k = 0; k < 3; k++) {
            b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n",
                    left + k * 170, ly - 10, colors[k])).append(text(left + k * 170 + 16, ly, names[k], "start", 11));
        }
        return b.append("</svg>\n").toString();
    }

    private static StringBuilder svgStart(String title) {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n", W, H, W, H));
        return b.append(text((L + W - R) / 2.0, 18, title, "middle", 14));
    }

    private static void legend(StringBuilder b, int i, String color, String name) {
        double y = T + 10 + i * 15;
        if (y > H - 10) {
            return;
        }
        b.append(line(W - R + 10, y - 4, W - R + 30, y - 4, color));
        b.append(text(W - R + 34, y, name.length() > 32 ? name.substring(0, 31) + "…" : name, "start", 10));
    }

    private static String line(double x1, double y1, double x2, double y2, String color) {
        return String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
                x1, y1, x2, y2, color);
    }

    private static String text(double x, double y, String s, String anchor, int size) {
        return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" text-anchor=\"%s\">%s</text>\n",
                x, y, size, anchor, esc(s));
    }

    static String fmt(double v) {
        if (v == 0) {
            return "0";
        }
        if (Math.abs(v) >= 1000) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        return Math.abs(v) >= 1 ? String.format(Locale.ROOT, "%.4g", v).replaceAll("\\.?0+$", "")
                : String.format(Locale.ROOT, "%.3g", v);
    }

    static String esc(String s) {
        return Objects.toString(s, "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
