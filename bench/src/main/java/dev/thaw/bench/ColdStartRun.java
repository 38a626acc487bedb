package dev.thaw.bench;

import dev.thaw.client.InvocationResult;
import dev.thaw.core.StartKind;
import dev.thaw.client.ThawClient;
import dev.thaw.core.ErrorType;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.ThawException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/** {@link ColdStartBenchmark} against a node reached through a {@link ThawClient}. */
final class ColdStartRun implements ColdStartBenchmark {
    private static final Duration COLD_WAIT = Duration.ofSeconds(10);
    private static final Duration SNAPSHOT_WAIT = Duration.ofSeconds(120);
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

    private final ThawClient client;
    private final BenchOptions options;
    private final PrintWriter out;
    private final Progress progress;
    private final Duration coldWait;

    ColdStartRun(ThawClient client, BenchOptions options, PrintWriter out, PrintWriter progress) {
        this(client, options, out, progress, COLD_WAIT);
    }

    /** @param coldWait how long {@link #makeCold} tries before giving up; short in tests */
    ColdStartRun(ThawClient client, BenchOptions options, PrintWriter out, PrintWriter progress, Duration coldWait) {
        this.coldWait = coldWait;
        this.client = client;
        this.options = options;
        this.out = out;
        this.progress = new Progress(progress);
    }

    @Override
    public BenchReport run() {
        List<ExampleFunction> functions = options.functions().stream()
                .map(name -> ExampleFunction.named(name, options.examplesDir())).toList();
        requireJars(functions);
        out.println("node " + client.base() + ", snapshots: " + client.health().path("snapshots"));
        List<Sample> samples = new ArrayList<>();
        List<FunctionSummary> summaries = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        for (ExampleFunction f : functions) {
            try {
                summaries.add(measure(f, samples));
            } catch (ThawException e) {
                if (e.type() == ErrorType.ServiceUnavailable) {
                    // The node is gone or stuck: keep what was measured, then stop.
                    progress.clear();
                    write(samples, summaries, failures);
                    throw e;
                }
                fail(f, e.type() + ": " + e.getMessage(), failures);
            } catch (RuntimeException e) {
                fail(f, e.getMessage(), failures);
            }
        }
        return write(samples, summaries, failures);
    }

    private static void requireJars(List<ExampleFunction> functions) {
        for (ExampleFunction f : functions) {
            if (!Files.isRegularFile(f.jar())) {
                throw ThawException.invalidRequest(
                        "example JAR %s is missing: build the examples first (mvn -pl examples -am package) or pass --examples-dir",
                        f.jar());
            }
        }
    }

    private void fail(ExampleFunction f, String message, List<String> failures) {
        progress.clear();
        out.println(f.name() + ": FAILED: " + message);
        failures.add(f.name() + ": " + message);
    }

    private FunctionSummary measure(ExampleFunction f, List<Sample> all) {
        List<Sample> samples = new ArrayList<>();
        try {
            progress.show(f.name(), "deploy", 0, 0);
            deploy(f, false);
            coldSeries(f, Series.BOOT, samples);
            deploy(f, true); // after the boots: the deploy's own boot, taking the snapshot, would run beside them
            String snapshot = prime(f);
            coldSeries(f, Series.RESTORE, samples);
            warmSeries(f, samples);
            progress.clear();
            FunctionSummary summary = FunctionSummary.of(f.name(), snapshot, samples);
            out.println(Reports.table(summary));
            out.flush();
            return summary;
        } finally {
            all.addAll(samples);
            cleanUp(f);
        }
    }

    private void deploy(ExampleFunction f, boolean snapshots) {
        var manifest = new FunctionManifest(f.deployment(snapshots), f.handler(), null, f.memoryMb(), null, f.environment(), null,
                snapshots);
        client.deploy(manifest, f.jar());
    }

    /**
     * Boot series: every call must boot, or the numbers are not what they claim to be. Restore series:
     * a start that was not a restore is kept and reported, since it is what a user would have seen.
     */
    private void coldSeries(ExampleFunction f, Series series, List<Sample> samples) {
        String name = f.deployment(series == Series.RESTORE);
        for (int i = 1; i <= options.cold(); i++) {
            progress.show(f.name(), series.label(), i, options.cold());
            makeCold(name);
            Sample sample = Sample.of(f.name(), series, i, invoke(name, f));
            if (series == Series.BOOT && sample.startKind() != StartKind.BOOT) {
                throw new IllegalStateException(name + ": cold start " + i + " was '" + sample.startKind().wireName()
                        + "', expected 'boot': evicting did not leave the function cold");
            }
            samples.add(sample);
        }
    }

    /** The first invocation boots and takes the snapshot; waits until the node says how that went. */
    private String prime(ExampleFunction f) {
        String name = f.deployment(true);
        progress.show(f.name(), "priming snapshot", 0, 0);
        makeCold(name);
        invoke(name, f);
        long deadline = System.nanoTime() + SNAPSHOT_WAIT.toNanos();
        while (true) {
            FunctionInfo.SnapshotInfo snapshot = client.describe(name).snapshot();
            String state = snapshot == null ? "none" : snapshot.state();
            if (!"none".equals(state) || System.nanoTime() > deadline) {
                return snapshot != null && snapshot.reason() != null ? state + ": " + snapshot.reason() : state;
            }
            pause(100);
        }
    }

    private void warmSeries(ExampleFunction f, List<Sample> samples) {
        String name = f.deployment(true);
        // One unrecorded call makes sure an instance is up before the back-to-back series starts.
        invoke(name, f);
        for (int i = 1; i <= options.warm(); i++) {
            progress.show(f.name(), "warm", i, options.warm());
            samples.add(Sample.of(f.name(), Series.WARM, i, invoke(name, f)));
        }
    }

    private InvocationResult invoke(String name, ExampleFunction f) {
        return client.invoke(name, f.payload().getBytes(StandardCharsets.UTF_8));
    }

    /** See {@link ColdSteering#makeCold}. */
    private void makeCold(String name) {
        ColdSteering.makeCold(client, name, coldWait);
    }

    private void cleanUp(ExampleFunction f) {
        for (boolean snapshots : new boolean[] {false, true}) {
            try {
                client.delete(f.deployment(snapshots));
            } catch (ThawException e) {
                if (e.type() != ErrorType.FunctionNotFound) {
                    out.println("warning: could not delete " + f.deployment(snapshots) + ": " + e.getMessage());
                }
            }
        }
    }

    private BenchReport write(List<Sample> samples, List<FunctionSummary> summaries, List<String> failures) {
        String stamp = LocalDateTime.now().format(STAMP);
        Path samplesCsv = options.output().resolve("cold-start-" + stamp + ".csv");
        Path summaryCsv = options.output().resolve("cold-start-" + stamp + "-summary.csv");
        CsvFiles.writeSamples(samplesCsv, samples);
        CsvFiles.writeSummary(summaryCsv, summaries);
        out.println("wrote " + samplesCsv + " and " + summaryCsv);
        out.flush();
        return new BenchReport(samplesCsv, summaryCsv, failures);
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ThawException(ErrorType.ServiceUnavailable, "benchmark interrupted", e);
        }
    }
}
