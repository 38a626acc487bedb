package dev.thaw.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Writes a run's files: requests.csv, stats.csv, stats.txt, config.json, report.html, and transfers.csv for chains. */
final class RunOutputs {
    static final String REQUESTS_HEADER = "seq,sweep_value,function,deployment,warmup,intended_ms,sent_ms,end_ms,"
            + "latency_ms,service_ms,send_delay_ms,status,start_kind,init_ms,restore_ms,duration_ms,overhead_ms,error";
    static final String STATS_HEADER = "sweep_value,function,start_kind,n,errors,mean_ms,p50_ms,p90_ms,p99_ms,"
            + "p999_ms,max_ms,tail_to_median,overhead_p50_ms,overhead_p99_ms";

    private RunOutputs() {
    }

    static void write(Path dir, RunConfig config, List<RequestRecord> records, List<RunStats.Row> rows, String table,
                      List<String> sweepLabels, List<String> failures) {
        try {
            Files.createDirectories(dir);
            Files.write(dir.resolve("requests.csv"), (REQUESTS_HEADER + "\n"
                    + String.join("", records.stream().map(r -> requestRow(r) + "\n").toList())).getBytes(StandardCharsets.UTF_8));
            Files.write(dir.resolve("stats.csv"), (STATS_HEADER + "\n"
                    + String.join("", rows.stream().map(r -> statsRow(r) + "\n").toList())).getBytes(StandardCharsets.UTF_8));
            Files.writeString(dir.resolve("stats.txt"), table + String.join("", failures.stream()
                    .map(f -> "FAILED: " + f + System.lineSeparator()).toList()));
            Files.writeString(dir.resolve("config.json"), config.toJson());
            List<RunStats.Transfer> transfers = RunStats.transfers(config, records);
            if (!transfers.isEmpty()) {
                Files.write(dir.resolve("transfers.csv"), (TRANSFERS_HEADER + "\n" + String.join("", transfers.stream()
                        .map(t -> transferRow(t) + "\n").toList())).getBytes(StandardCharsets.UTF_8));
            }
            Files.writeString(dir.resolve("report.html"), HtmlReport.render(config, records, rows, table, failures));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write results to " + dir + ": " + e.getMessage(), e);
        }
    }

    static final String TRANSFERS_HEADER = "payload_bytes,function,transfer,n,errors,p50_ms,mean_ms,p99_ms,"
            + "bandwidth_mib_s,bandwidth_over_store";

    static String transferRow(RunStats.Transfer t) {
        return CsvFiles.row(Long.toString(t.bytes()), t.function(), t.transfer(), Long.toString(t.n()),
                Long.toString(t.errors()), CsvFiles.number(t.p50()), CsvFiles.number(t.mean()), CsvFiles.number(t.p99()),
                CsvFiles.number(t.mibPerSecond()), CsvFiles.number(t.vsStore()));
    }

    static String requestRow(RequestRecord r) {
        return CsvFiles.row(Integer.toString(r.seq()), r.sweepValue() == null ? "" : r.sweepValue(), r.function(),
                r.deployment(), Boolean.toString(r.warmup()), CsvFiles.number(r.intendedMs()), CsvFiles.number(r.sentMs()),
                CsvFiles.number(r.endMs()), CsvFiles.number(r.latencyMs()), CsvFiles.number(r.serviceMs()),
                CsvFiles.number(r.sendDelayMs()), Integer.toString(r.status()), r.startKind().wireName(),
                CsvFiles.number(r.initMs()), CsvFiles.number(r.restoreMs()), CsvFiles.number(r.durationMs()),
                CsvFiles.number(r.overheadMs()), r.error() == null ? "" : r.error());
    }

    static String statsRow(RunStats.Row r) {
        return CsvFiles.row(r.sweep() == null ? "" : r.sweep(), r.function(), r.start(), Long.toString(r.n()),
                Long.toString(r.errors()), CsvFiles.number(r.mean()), CsvFiles.number(r.p50()), CsvFiles.number(r.p90()),
                CsvFiles.number(r.p99()), CsvFiles.number(r.p999()), CsvFiles.number(r.max()),
                Double.isInfinite(r.tmr()) ? "" : CsvFiles.number(r.tmr()), CsvFiles.number(r.overheadP50()),
                CsvFiles.number(r.overheadP99()));
    }
}
