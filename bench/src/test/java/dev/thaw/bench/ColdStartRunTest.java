package dev.thaw.bench;

import dev.thaw.core.StartKind;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.client.InvocationResult;
import dev.thaw.client.ThawClient;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.Json;
import dev.thaw.core.ThawException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the benchmark's control flow against an in-memory node (no timing is checked). */
class ColdStartRunTest {

    /** Instances and snapshots as a node keeps them, minus everything that takes time. */
    static final class FakeClient implements ThawClient {
        final Map<String, Boolean> snapshots = new HashMap<>();
        final Map<String, Integer> idle = new HashMap<>();
        final Map<String, Boolean> snapshotReady = new HashMap<>();
        final List<String> calls = new ArrayList<>();
        boolean evictWorks = true;
        int restoreFailures;

        @Override public URI base() { return URI.create("http://fake"); }

        @Override public FunctionInfo deploy(FunctionManifest manifest, Path jar) {
            calls.add("deploy " + manifest.name() + " snapshots=" + manifest.snapshots() + " memory=" + manifest.memoryMb());
            snapshots.put(manifest.name(), manifest.snapshots());
            idle.put(manifest.name(), 0);
            snapshotReady.put(manifest.name(), false);
            return describe(manifest.name());
        }

        @Override public List<FunctionInfo> list() { return List.of(); }

        @Override public FunctionInfo describe(String name) {
            if (!snapshots.containsKey(name)) {
                throw ThawException.functionNotFound(name);
            }
            String state = !snapshots.get(name) ? "disabled" : snapshotReady.get(name) ? "ready" : "none";
            return new FunctionInfo(name, 1, "h", "java", 512, 30000, List.of(), 8, snapshots.get(name), "", 0, "",
                    new FunctionInfo.SnapshotInfo(state, null, null, null, null, 0, 0),
                    new FunctionInfo.InstanceCounts(0, idle.get(name), 0, 0), "eager", null);
        }

        @Override public long delete(String name) {
            calls.add("delete " + name);
            snapshots.remove(name);
            return 1;
        }

        @Override public String logs(String name, int tail) { return ""; }

        @Override public int evict(String name) {
            int n = idle.get(name);
            if (evictWorks) {
                idle.put(name, 0);
            }
            return n;
        }

        @Override public JsonNode health() { return Json.mapper().createObjectNode().put("status", "ok"); }

        @Override public String metrics() { return ""; }
        @Override public JsonNode snapshots() { throw new UnsupportedOperationException(); }
        @Override public JsonNode snapshot(String name) { throw new UnsupportedOperationException(); }
        @Override public JsonNode storeGc() { throw new UnsupportedOperationException(); }
        @Override public JsonNode evictSnapshot(String name, java.util.Set<String> places) { throw new UnsupportedOperationException(); }
        @Override public JsonNode compareSnapshots(String name, String other) { throw new UnsupportedOperationException(); }
        @Override public JsonNode loadSnapshot(String name) { throw new UnsupportedOperationException(); }
        @Override public InvocationResult invoke(String name, byte[] payload, dev.thaw.client.InvokeOptions options) {
            throw new UnsupportedOperationException();
        }
        @Override public java.util.SortedMap<String, Long> aliases(String name) { throw new UnsupportedOperationException(); }
        @Override public OptionalLong setAlias(String name, String alias, long version) {
            throw new UnsupportedOperationException();
        }
        @Override public long deleteAlias(String name, String alias) { throw new UnsupportedOperationException(); }
        @Override public JsonNode versions(String name) { throw new UnsupportedOperationException(); }
        @Override public JsonNode clusterNodes() { throw new UnsupportedOperationException(); }
        @Override public JsonNode deadLetters(String name) { throw new UnsupportedOperationException(); }
        @Override public int clearDeadLetters(String name) { throw new UnsupportedOperationException(); }

        @Override public InvocationResult invoke(String name, byte[] payload) {
            String start;
            if (idle.get(name) > 0) {
                start = "warm";
            } else if (snapshotReady.get(name) && restoreFailures-- <= 0) {
                start = "restore";
            } else {
                start = "boot";
                snapshotReady.put(name, snapshots.get(name));
            }
            idle.put(name, 1);
            return new InvocationResult(200, "{}".getBytes(StandardCharsets.UTF_8), "r",
                    dev.thaw.core.StartKind.fromHeader(start),
                    start.equals("boot") ? OptionalDouble.of(300) : OptionalDouble.empty(),
                    start.equals("restore") ? OptionalDouble.of(30) : OptionalDouble.empty(),
                    OptionalDouble.of(1), 1_000_000, OptionalLong.of(1));
        }

        @Override public void close() { }
    }

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    BenchReport run(FakeClient client, Path dir, String... functions) throws Exception {
        Path examples = dir.resolve("examples");
        for (String f : functions) {
            Path jar = examples.resolve(f + "/target/thaw-examples-" + f + ".jar");
            Files.createDirectories(jar.getParent());
            Files.write(jar, new byte[] {1});
        }
        var options = new BenchOptions(List.of(functions), 3, 5, dir.resolve("results"), examples);
        return new ColdStartRun(client, options, new PrintWriter(out, true), new PrintWriter(err, true),
                Duration.ofMillis(200)).run();
    }

    @Test
    void measuresEverySeriesAndCleansUp(@TempDir Path dir) throws Exception {
        FakeClient client = new FakeClient();
        BenchReport report = run(client, dir, "hello", "spring-boot");

        assertThat(report.ok()).isTrue();
        assertThat(client.calls).contains(
                "deploy bench-hello-boot snapshots=false memory=null",
                "deploy bench-hello-restore snapshots=true memory=null",
                "deploy bench-spring-boot-restore snapshots=true memory=1024",
                "delete bench-hello-boot", "delete bench-hello-restore", "delete bench-spring-boot-restore");
        assertThat(client.snapshots).isEmpty();
        List<String> rows = Files.readAllLines(report.samplesCsv());
        assertThat(rows).hasSize(1 + 2 * (3 + 3 + 5));
        assertThat(rows).contains("hello,boot,1,1.000,300.000,boot", "hello,restore,3,1.000,30.000,restore",
                "hello,warm,5,1.000,1.000,warm");
        assertThat(Files.readAllLines(report.summaryCsv())).hasSize(1 + 2 * 3);
        assertThat(out.toString()).contains("hello (snapshot: ready)", "spring-boot (snapshot: ready)")
                .doesNotContain("WARNING");
        assertThat(err.toString()).contains("[hello] boot 3/3", "[spring-boot] warm 5/5");
    }

    @Test
    void restoresThatBootAreReportedNotHidden(@TempDir Path dir) throws Exception {
        FakeClient client = new FakeClient();
        client.restoreFailures = 1;
        BenchReport report = run(client, dir, "hello");

        assertThat(report.ok()).isTrue();
        assertThat(Files.readAllLines(report.samplesCsv())).contains("hello,restore,1,1.000,300.000,boot");
        assertThat(out.toString()).contains("WARNING: 1 of 3 restore requests did not start as 'restore' (restore=2;boot=1)");
    }

    @Test
    void aBootSeriesThatIsNotColdFailsTheFunction(@TempDir Path dir) throws Exception {
        FakeClient client = new FakeClient();
        client.evictWorks = false;
        BenchReport report = run(client, dir, "hello");

        assertThat(report.failures()).singleElement().asString().contains("instances still running");
        assertThat(client.snapshots).isEmpty();
    }

    @Test
    void missingJarsFailBeforeAnythingIsDeployed(@TempDir Path dir) {
        FakeClient client = new FakeClient();
        var options = new BenchOptions(List.of("hello"), 1, 1, dir, dir.resolve("nowhere"));
        assertThatThrownBy(() -> ColdStartBenchmark.create(client, options, new PrintWriter(out), new PrintWriter(err)).run())
                .isInstanceOf(ThawException.class).hasMessageContaining("thaw-examples-hello.jar is missing");
        assertThat(client.calls).isEmpty();
    }

    @Test
    void optionsRejectUnknownFunctions() {
        assertThatThrownBy(() -> new BenchOptions(List.of("nope"), 1, 1, Path.of("o"), Path.of("e")))
                .hasMessageContaining("unknown function 'nope'");
        assertThat(BenchOptions.defaults().functions()).containsExactly("hello", "json-transform", "lambda-handler", "spring-boot",
                "spring-boot-c1");
    }
}
