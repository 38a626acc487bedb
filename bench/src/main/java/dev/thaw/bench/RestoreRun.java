package dev.thaw.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.client.InvocationResult;
import dev.thaw.core.StartKind;
import dev.thaw.client.ThawClient;
import dev.thaw.core.FileTrees;
import dev.thaw.core.FunctionManifest;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;

/*
 * How the restore benchmark steers each cold start to one source of images. The node keeps a
 * snapshot in a working copy on tmpfs (the spine's plain directory) and in the store's tiers. Before
 * each measured cold start the function is made cold (no instance left), then the snapshot is
 * dropped from every place faster than the one measured: nothing for "local", the working copy for
 * "memory", also the memory tier for "disk", also the disk tier for "s3". The restore then
 * materializes (eager) or pages in (lazy, reap) from exactly that tier, and re-fills the faster ones,
 * so the next source's eviction starts from a full hierarchy. Sources are interleaved within each
 * repetition, so slow drift of a shared machine hits every source alike; ratios are taken against
 * the working-copy eager restore of the same function on the same node, measured in the same run.
 *
 * Every measured answer is checked: it must be a restore, report the expected source, and (for
 * store sources) fetch its bytes from the expected tier; a cell whose answers were not what they
 * claim is reported as such rather than silently averaged in.
 *
 * With a BareRestore, each working-copy eager restore of a variant without sandboxes is followed by
 * a bare CRIU restore of the same working copy (the function cold again, the working copy loaded,
 * the same settling), so the report sets CRIU's own cost beside thaw's restore phase and its first
 * response, measured in turns in the same run.
 */
/** The {@link RestoreBenchmark} implementation. */
final class RestoreRun implements RestoreBenchmark {
    private static final Duration SNAPSHOT_WAIT = Duration.ofMinutes(3);
    private static final Duration COLD_WAIT = Duration.ofSeconds(60);
    private static final Duration SETTLE = Duration.ofMillis(250);
    private static final Duration COMPILER_QUIET = Duration.ofMillis(100);
    private static final Duration COMPILER_WAIT = Duration.ofSeconds(3);
    static final String SAMPLES_HEADER = "variant,function,mode,source,iteration,client_ms,restore_ms,fetch_ms,"
            + "bytes_memory,bytes_disk,bytes_s3,start_kind,restore_mode,restore_source,pages_up_front,faults_on_demand,"
            + "working_set_bytes,install_ms,as_expected";
    static final String SUMMARY_HEADER = "variant,function,mode,source,n,median_ms,p99_ms,median_ratio,p99_ratio,"
            + "fetch_median_ms,faults_median,working_set_mb,unexpected";
    /** The source column of bare CRIU restores in the CSV files. */
    static final String BARE_SOURCE = "bare-criu";
    static final String DEDUP_HEADER = "variant,kind,snapshot,other,bytes,other_bytes,shared_bytes,dedup_ratio";

    private final NodeLauncher nodes;
    private final RestoreBenchOptions options;
    private final PrintWriter out;
    private final Progress progress;
    private final List<Row> rows = new ArrayList<>();
    private final List<String> dedupRows = new ArrayList<>();
    private final List<String> failures = new ArrayList<>();
    /** Bare CRIU restores; null when not measured. */
    private final BareRestore bare;
    private final List<BareRow> bareRows = new ArrayList<>();

    RestoreRun(NodeLauncher nodes, RestoreBenchOptions options, PrintWriter out, PrintWriter progress, BareRestore bare) {
        this.nodes = nodes;
        this.options = options;
        this.out = out;
        this.progress = new Progress(progress);
        this.bare = bare;
    }

    /** One bare CRIU restore of a function's working copy. */
    record BareRow(String variant, String function, int iteration, double millis) {
    }

    /** One measured cold start. */
    record Row(String variant, String function, String mode, String source, int iteration, InvocationResult result,
               boolean asExpected) {
        double clientMs() {
            return result.clientLatencyMillis();
        }

        double header(String name) {
            return result.thawHeader(name).map(RestoreRun::parseDouble).orElse(Double.NaN);
        }

        Map<String, Long> bytesByTier() {
            return parseTiers(result.thawHeader("Fetch-Bytes").orElse("none"));
        }
    }

    @Override
    public BenchReport run() {
        if (options.interleave()) {
            runTogether(options.variants());
        } else {
            options.variants().forEach(v -> runTogether(List.of(v)));
        }
        progress.clear();
        return writeAndPrint();
    }

    /** A variant's node, running while its variant is measured. */
    private record Running(StoreVariant variant, NodeLauncher.RunningNode node, CleanupOnExit onExit, Path dataDir) {
    }

    /**
     * Starts a node per variant and prepares each, then takes each cell's restores in turns, one
     * restore per variant (with several variants, drift over the run, the machine's other work and
     * the nodes' background work, falls on every variant alike), and stops the nodes.
     */
    private void runTogether(List<StoreVariant> variants) {
        List<Running> running = new ArrayList<>();
        List<ExampleFunction> functions = functions();
        try {
            for (StoreVariant v : variants) {
                Path dataDir = options.output().resolve("nodes").resolve(v.label()).toAbsolutePath();
                FileTrees.delete(dataDir);
                try {
                    NodeLauncher.RunningNode node = nodes.start(v, dataDir);
                    CleanupOnExit onExit = new CleanupOnExit("thaw-bench-cleanup", () -> {
                        node.close();
                        FileTrees.delete(dataDir);
                    });
                    running.add(new Running(v, node, onExit, dataDir));
                } catch (RuntimeException e) {
                    FileTrees.delete(dataDir);
                    throw e;
                }
            }
            for (Running r : running) {
                prepare(r.variant(), r.node().client(), r.dataDir(), functions);
            }
            for (int i = 1; i <= options.repeats(); i++) {
                for (ExampleFunction f : functions) {
                    for (String mode : options.modes()) {
                        for (String source : options.sources()) {
                            for (Running r : running) {
                                measure(r.variant(), r.node().client(), r.dataDir(), f, mode, source, i);
                            }
                        }
                    }
                }
            }
            for (Running r : running) {
                deleteDeployments(r.node().client(), functions);
            }
        } catch (RuntimeException e) {
            progress.clear();
            String label = variants.stream().map(StoreVariant::label).collect(java.util.stream.Collectors.joining(", "));
            failures.add((variants.size() == 1 ? label : "interleaved run of " + label) + ": " + e.getMessage());
            out.println("error: " + (variants.size() == 1 ? "variant " + label : "the interleaved run of " + label)
                    + " failed: " + e.getMessage());
        } finally {
            for (Running r : running) {
                r.onExit().close();
                r.node().close();
                FileTrees.delete(r.dataDir());
            }
        }
    }

    private List<ExampleFunction> functions() {
        return options.functions().stream().map(n -> ExampleFunction.named(n, options.examplesDir())).toList();
    }

    /** @return whether this variant also gets a bare CRIU restore after each working-copy eager restore */
    private boolean bareToo(StoreVariant v) {
        return bare != null && !v.sandbox() && options.modes().contains("eager") && options.sources().contains("local");
    }

    /** Deploys and primes every function, measures deduplication if asked, and warms each cell up once. */
    private void prepare(StoreVariant v, ThawClient client, Path dataDir, List<ExampleFunction> functions) {
        boolean bareToo = bareToo(v);
        for (ExampleFunction f : functions) {
            for (String mode : options.modes()) {
                deployAndPrime(client, v, f, deployment(f, mode), f.jar(), mode);
            }
        }
        if (options.dedup()) {
            measureDedup(client, v, functions);
        }
        for (ExampleFunction f : functions) {
            for (String mode : options.modes()) {
                for (String source : options.sources()) {
                    progress.show(v.label() + " " + f.name(), "warm-up " + mode + " from " + source, 0, 0);
                    coldStart(client, deployment(f, mode), f, source); // fills the caches and the JIT of the node
                }
            }
            if (bareToo) {
                bareRestore(client, dataDir, deployment(f, "eager"));
            }
        }
    }

    /** The {@code i}th restore of one cell (and its bare CRIU restore, when asked). */
    private void measure(StoreVariant v, ThawClient client, Path dataDir, ExampleFunction f, String mode, String source,
                         int i) {
        progress.show(v.label() + " " + f.name(), mode + " from " + source, i, options.repeats());
        InvocationResult r = coldStart(client, deployment(f, mode), f, source);
        rows.add(new Row(v.label(), f.name(), mode, source, i, r, asExpected(r, mode, source)));
        if (bareToo(v) && mode.equals("eager") && source.equals("local")) {
            progress.show(v.label() + " " + f.name(), "bare criu restore", i, options.repeats());
            bareRows.add(new BareRow(v.label(), f.name(), i, bareRestore(client, dataDir, deployment(f, mode))));
        }
    }

    private void deleteDeployments(ThawClient client, List<ExampleFunction> functions) {
        for (ExampleFunction f : functions) {
            for (String mode : options.modes()) {
                client.delete(deployment(f, mode));
            }
        }
    }

    private static String deployment(ExampleFunction f, String mode) {
        return "rb-" + f.name() + "-" + mode;
    }

    private void deployAndPrime(ThawClient client, StoreVariant v, ExampleFunction f, String name, Path jar, String mode) {
        progress.show(v.label() + " " + f.name(), "deploy and snapshot " + name, 0, 0);
        FunctionManifest manifest = new FunctionManifest(name, f.handler(), null, f.memoryMb(), null, f.environment(), null,
                true, mode);
        if (options.primeRounds() > 0) {
            manifest = manifest.withPriming(new FunctionManifest.Priming(readJson(f.payload()), options.primeRounds()));
        }
        client.deploy(manifest, jar);
        ColdSteering.makeCold(client, name, COLD_WAIT);
        invoke(client, name, f);
        awaitDurable(client, name);
    }

    private static JsonNode readJson(String json) {
        try {
            return dev.thaw.core.Json.mapper().readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException("a benchmark event is not JSON: " + json, e);
        }
    }

    /** Waits until the snapshot is taken, in the store, and uploaded to S3: every source can then be measured. */
    private static void awaitDurable(ThawClient client, String name) {
        long deadline = System.nanoTime() + SNAPSHOT_WAIT.toNanos();
        while (true) {
            JsonNode report = client.snapshot(name);
            String state = report.at("/snapshot/state").asText();
            if (state.equals("failed") || state.equals("disabled")) {
                throw new IllegalStateException(name + ": no snapshot (" + state + "): " + report.at("/snapshot/reason").asText());
            }
            if (report.at("/store/durable").asBoolean(false)) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(name + ": snapshot not durable in the store after " + SNAPSHOT_WAIT
                        + " (state " + state + ")");
            }
            LockSupport.parkNanos(100_000_000);
        }
    }

    private InvocationResult coldStart(ThawClient client, String name, ExampleFunction f, String source) {
        ColdSteering.makeCold(client, name, COLD_WAIT);
        if (source.equals("local")) {
            client.loadSnapshot(name); // an eager restore from the store leaves no working copy behind
        }
        Set<String> places = switch (source) {
            case "local" -> Set.of();
            case "memory" -> Set.of("working");
            case "disk" -> Set.of("working", "memory");
            case "s3" -> Set.of("working", "memory", "disk");
            default -> throw new IllegalArgumentException(source);
        };
        if (!places.isEmpty()) {
            client.evictSnapshot(name, places); // waits for the store's background fills of earlier reads
        }
        // Lets the evicted instance's teardown (CRIU, page server) finish: it is not this restore's cost.
        LockSupport.parkNanos(SETTLE.toNanos());
        awaitQuietCompiler();
        return invoke(client, name, f);
    }

    /** A bare CRIU restore of the function's working copy, the function cold and settled as before a measured restore. */
    private double bareRestore(ThawClient client, Path dataDir, String name) {
        ColdSteering.makeCold(client, name, COLD_WAIT);
        client.loadSnapshot(name);
        JsonNode report = client.snapshot(name);
        Path images = Path.of(report.path("workingCopy").asText());
        long version = report.path("version").asLong(1);
        LockSupport.parkNanos(SETTLE.toNanos());
        awaitQuietCompiler();
        try {
            JsonNode meta = dev.thaw.core.Json.mapper().readTree(dataDir.resolve("functions").resolve(name)
                    .resolve("v" + version).resolve("snapshot").resolve("snapshot.json").toFile());
            return bare.restoreMillis(images, meta.path("stdin").asText(), meta.path("stdout").asText());
        } catch (IOException e) {
            throw new UncheckedIOException("a bare criu restore of " + name + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * The nodes run in this JVM, with the embedded S3 server, and their code is still being compiled
     * long after the warm-up pass: measured per working-copy restore in a run of this benchmark, the
     * JIT spent 50-540 ms of CPU and the JVM 150-570 ms in all, during restores of 65-100 ms, on 2
     * cores that CRIU needs too. That is not what a node that has been up a while costs a restore,
     * so each restore waits (at most {@link #COMPILER_WAIT}) until no compilation time was added for
     * {@link #COMPILER_QUIET}. Compilations the restore itself triggers still count.
     */
    private static void awaitQuietCompiler() {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) {
            return;
        }
        long deadline = System.nanoTime() + COMPILER_WAIT.toNanos();
        long last = jit.getTotalCompilationTime();
        while (System.nanoTime() < deadline) {
            LockSupport.parkNanos(COMPILER_QUIET.toNanos());
            long now = jit.getTotalCompilationTime();
            if (now == last) {
                return;
            }
            last = now;
        }
    }

    private static InvocationResult invoke(ThawClient client, String name, ExampleFunction f) {
        return client.invoke(name, f.payload().getBytes(StandardCharsets.UTF_8));
    }

    /** A restore, from the expected place, whose bytes came from the tier measured (and faster ones it re-filled). */
    static boolean asExpected(InvocationResult r, String mode, String source) {
        if (r.startKind() != StartKind.RESTORE || !r.thawHeader("Restore-Mode").orElse("").equals(mode)) {
            return false;
        }
        String from = r.thawHeader("Restore-Source").orElse("");
        if (source.equals("local")) {
            return from.equals("local");
        }
        Map<String, Long> bytes = parseTiers(r.thawHeader("Fetch-Bytes").orElse("none"));
        List<String> slower = RestoreBenchOptions.SOURCES.subList(RestoreBenchOptions.SOURCES.indexOf(source) + 1,
                RestoreBenchOptions.SOURCES.size());
        return from.equals("store") && bytes.getOrDefault(source, 0L) > 0
                && slower.stream().allMatch(t -> bytes.getOrDefault(t, 0L) == 0);
    }

    // ---- deduplication -------------------------------------------------------------------------

    private void measureDedup(ThawClient client, StoreVariant v, List<ExampleFunction> functions) {
        String mode = options.modes().getFirst();
        for (ExampleFunction f : functions) {
            String second = "rb-" + f.name() + "-build2";
            Path jar = secondBuild(f);
            deployAndPrime(client, v, f, second, jar, mode);
            record(v, "two builds of one function", client.compareSnapshots(deployment(f, mode), second));
            client.delete(second);
        }
        for (int i = 0; i < functions.size(); i++) {
            for (int j = i + 1; j < functions.size(); j++) {
                record(v, "different functions", client.compareSnapshots(deployment(functions.get(i), mode),
                        deployment(functions.get(j), mode)));
            }
        }
    }

    private void record(StoreVariant v, String kind, JsonNode s) {
        dedupRows.add(CsvFiles.row(v.label(), kind, s.path("function").asText(), s.path("other").asText(),
                s.path("bytes").asText(), s.path("otherBytes").asText(), s.path("sharedBytes").asText(),
                CsvFiles.number(s.path("dedupRatio").asDouble())));
    }

    /**
     * A second build of the example: the same classes in a JAR that differs by one added entry,
     * as a rebuild with a new build stamp would. The zip file system copies the other entries as
     * they are (Spring Boot's nested JARs must stay stored uncompressed).
     */
    private Path secondBuild(ExampleFunction f) {
        Path copy = options.output().resolve("builds").resolve(f.name() + "-build2.jar").toAbsolutePath();
        try {
            Files.createDirectories(copy.getParent());
            Files.copy(f.jar(), copy, StandardCopyOption.REPLACE_EXISTING);
            try (FileSystem zip = FileSystems.newFileSystem(URI.create("jar:" + copy.toUri()), Map.of())) {
                Files.writeString(zip.getPath("META-INF", "thaw-build.txt"), "build 2 of " + f.name() + "\n");
            }
            return copy;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make a second build of " + f.jar() + ": " + e.getMessage(), e);
        }
    }

    // ---- output --------------------------------------------------------------------------------

    private BenchReport writeAndPrint() {
        Path samples = options.output().resolve("restore-samples.csv");
        Path summary = options.output().resolve("restore-summary.csv");
        List<String> sampleRows = new ArrayList<>(rows.stream().map(RestoreRun::sampleRow).toList());
        bareRows.forEach(b -> sampleRows.add(CsvFiles.row(b.variant(), b.function(), "eager", BARE_SOURCE,
                Integer.toString(b.iteration()), CsvFiles.number(b.millis()), "", "", "0", "0", "0", "", "", "", "", "", "",
                "", "true")));
        CsvFiles.write(samples, SAMPLES_HEADER, sampleRows);
        List<String> summaryRows = new ArrayList<>();
        for (String variant : rows.stream().map(Row::variant).distinct().toList()) {
            TextTable table = TextTable.numeric("FUNCTION", "MODE", "SOURCE", "N", "MEDIAN MS", "P99 MS", "x MEDIAN",
                    "x P99", "FETCH MS", "FAULTS", "UNEXPECTED");
            for (Map.Entry<List<String>, List<Row>> cell : cells(variant).entrySet()) {
                Summary s = summarize(cell.getValue(), baseline(variant, cell.getKey().get(0)));
                summaryRows.add(CsvFiles.row(variant, cell.getKey().get(0), cell.getKey().get(1), cell.getKey().get(2),
                        Long.toString(s.n), CsvFiles.number(s.median), CsvFiles.number(s.p99),
                        CsvFiles.number(s.medianRatio), CsvFiles.number(s.p99Ratio), CsvFiles.number(s.fetchMedian),
                        CsvFiles.number(s.faultsMedian), CsvFiles.number(s.workingSetMb), Long.toString(s.unexpected)));
                table.row(cell.getKey().get(0), cell.getKey().get(1), cell.getKey().get(2), Long.toString(s.n),
                        fmt(s.median), fmt(s.p99), ratio(s.medianRatio), ratio(s.p99Ratio), fmt(s.fetchMedian),
                        Double.isNaN(s.faultsMedian) ? "-" : fmt(s.faultsMedian), Long.toString(s.unexpected));
            }
            out.println();
            out.println("Restore to first response, store " + variant + " (ratios against the working-copy eager restore)"
                    + (options.primeRounds() > 0 ? ", functions primed with " + options.primeRounds()
                    + " calls of their benchmark event:" : ":"));
            out.print(table.render());
        }
        printBare(summaryRows);
        CsvFiles.write(summary, SUMMARY_HEADER, summaryRows);
        if (!dedupRows.isEmpty()) {
            Path dedup = options.output().resolve("dedup.csv");
            CsvFiles.write(dedup, DEDUP_HEADER, dedupRows);
            printDedup();
            out.println("wrote " + dedup);
        }
        out.println("wrote " + samples + " and " + summary);
        out.flush();
        return new BenchReport(samples, summary, failures);
    }

    /**
     * What a cold start costs beyond CRIU: per function, the bare restores beside the working-copy
     * eager restores they alternated with (the node's restore phase and the client's first response).
     */
    private void printBare(List<String> summaryRows) {
        for (String variant : bareRows.stream().map(BareRow::variant).distinct().toList()) {
            TextTable table = TextTable.numeric("FUNCTION", "N", "BARE CRIU MS", "P99", "THAW RESTORE MS", "P99",
                    "FIRST RESPONSE MS", "P99", "RESPONSE - CRIU");
            for (String function : bareRows.stream().filter(b -> b.variant().equals(variant)).map(BareRow::function)
                    .distinct().toList()) {
                LatencyStats criu = new LatencyStats();
                bareRows.stream().filter(b -> b.variant().equals(variant) && b.function().equals(function))
                        .forEach(b -> criu.record(b.millis()));
                LatencyStats phase = new LatencyStats();
                LatencyStats response = new LatencyStats();
                rows.stream().filter(r -> r.variant.equals(variant) && r.function.equals(function) && r.mode.equals("eager")
                        && r.source.equals("local")).forEach(r -> {
                            response.record(r.clientMs());
                            r.result.restoreMs().ifPresent(phase::record);
                        });
                Summary base = baseline(variant, function);
                summaryRows.add(CsvFiles.row(variant, function, "eager", BARE_SOURCE, Long.toString(criu.count()),
                        CsvFiles.number(criu.median()), CsvFiles.number(criu.p99()),
                        CsvFiles.number(base == null ? Double.NaN : criu.median() / base.median),
                        CsvFiles.number(base == null ? Double.NaN : criu.p99() / base.p99), "", "", "", "0"));
                table.row(function, Long.toString(criu.count()), fmt(criu.median()), fmt(criu.p99()), fmt(phase.median()),
                        fmt(phase.p99()), fmt(response.median()), fmt(response.p99()),
                        fmt(response.median() - criu.median()));
            }
            out.println();
            out.println("What a cold start costs beyond CRIU, store " + variant + ": a bare criu restore -d of the working"
                    + " copy (the node's options, no thaw code; spawn to CRIU's exit) in turns with thaw's working-copy"
                    + " eager restores (the node's restore phase, X-Thaw-Restore-Ms, and the client's first response):");
            out.print(table.render());
        }
    }

    private void printDedup() {
        TextTable t = TextTable.numeric("VARIANT", "KIND", "SNAPSHOT", "OTHER", "MB", "OTHER MB", "SHARED MB", "RATIO");
        for (String line : dedupRows) {
            String[] c = line.split(",", -1);
            t.row(c[0], c[1], c[2], c[3], mb(c[4]), mb(c[5]), mb(c[6]), c[7]);
        }
        out.println();
        out.println("Deduplication in the store (ratio = bytes without dedup / bytes stored):");
        out.print(t.render());
    }

    private Map<List<String>, List<Row>> cells(String variant) {
        return rows.stream().filter(r -> r.variant.equals(variant)).collect(Collectors.groupingBy(
                r -> List.of(r.function, r.mode, r.source), LinkedHashMap::new, Collectors.toList()));
    }

    /** The working-copy eager restore of the function on the same node, or NaN when it was not measured. */
    private Summary baseline(String variant, String function) {
        List<Row> base = rows.stream().filter(r -> r.variant.equals(variant) && r.function.equals(function)
                && r.mode.equals("eager") && r.source.equals("local")).toList();
        return base.isEmpty() ? null : summarize(base, null);
    }

    record Summary(long n, double median, double p99, double medianRatio, double p99Ratio, double fetchMedian,
                   double faultsMedian, double workingSetMb, long unexpected) {
    }

    static Summary summarize(List<Row> cell, Summary base) {
        LatencyStats client = new LatencyStats();
        LatencyStats fetch = new LatencyStats();
        LatencyStats faults = new LatencyStats();
        LatencyStats ws = new LatencyStats();
        for (Row r : cell) {
            client.record(r.clientMs());
            recordIfPresent(fetch, r.header("Fetch-Ms"));
            recordIfPresent(faults, r.header("Faults-On-Demand"));
            recordIfPresent(ws, r.header("Working-Set-Bytes") / 1048576.0);
        }
        long unexpected = cell.stream().filter(r -> !r.asExpected).count();
        double median = client.median();
        double p99 = client.p99();
        return new Summary(client.count(), median, p99, base == null ? Double.NaN : median / base.median,
                base == null ? Double.NaN : p99 / base.p99, fetch.median(), faults.median(), ws.median(), unexpected);
    }

    private static void recordIfPresent(LatencyStats stats, double value) {
        if (!Double.isNaN(value)) {
            stats.record(value);
        }
    }

    private static String sampleRow(Row r) {
        Map<String, Long> bytes = r.bytesByTier();
        InvocationResult x = r.result;
        return CsvFiles.row(r.variant, r.function, r.mode, r.source, Integer.toString(r.iteration),
                CsvFiles.number(r.clientMs()), CsvFiles.number(x.restoreMs()), num(r.header("Fetch-Ms")),
                Long.toString(bytes.getOrDefault("memory", 0L)), Long.toString(bytes.getOrDefault("disk", 0L)),
                Long.toString(bytes.getOrDefault("s3", 0L)), x.startKind().wireName(),
                x.thawHeader("Restore-Mode").orElse(""), x.thawHeader("Restore-Source").orElse(""),
                x.thawHeader("Pages-Up-Front").orElse(""), x.thawHeader("Faults-On-Demand").orElse(""),
                x.thawHeader("Working-Set-Bytes").orElse(""), x.thawHeader("Install-Ms").orElse(""),
                Boolean.toString(r.asExpected));
    }

    static Map<String, Long> parseTiers(String header) {
        Map<String, Long> out = new LinkedHashMap<>();
        if (header == null || header.isBlank() || header.equals("none")) {
            return out;
        }
        for (String part : header.split(";")) {
            String[] kv = part.split("=", 2);
            if (kv.length == 2) {
                try {
                    out.put(kv[0].strip(), Long.parseLong(kv[1].strip()));
                } catch (NumberFormatException ignored) {
                    // an informative header: a malformed part is skipped
                }
            }
        }
        return out;
    }

    private static double parseDouble(String s) {
        try {
            return Double.parseDouble(s.strip());
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "" : CsvFiles.number(v);
    }

    private static String fmt(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f", v);
    }

    private static String ratio(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.2fx", v);
    }

    private static String mb(String bytes) {
        try {
            return String.format(Locale.ROOT, "%.1f", Long.parseLong(bytes) / 1048576.0);
        } catch (NumberFormatException e) {
            return bytes;
        }
    }
}
