package dev.thaw.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** End to end against fake nodes; checks counts, files and lower bounds that hold however slow the machine is. */
class BenchRunTest {
    @TempDir
    Path dir;

    private BenchRun.Result run(String yaml, StringWriter out) throws Exception {
        Path jar = Files.write(dir.resolve("f.jar"), new byte[] {'P', 'K', 3, 4});
        RunConfig config = RunConfig.parse(yaml.replace("JAR", jar.toString()), false, "test.yaml");
        return BenchRun.run(config, dir, dir.resolve("out"), new PrintWriter(out, true), new PrintWriter(new StringWriter()));
    }

    @Test
    void openLoopWithBurstsReplicasAndASweepAgainstAFakeNode() throws Exception {
        try (FakeNode node = new FakeNode(1, 0)) {
            StringWriter out = new StringWriter();
            BenchRun.Result result = run("""
                    name: e2e
                    target: {url: "%s"}
                    seed: 3
                    functions:
                      - {name: w, jar: JAR, handler: "A::h", payload: {x: 1}, payloadGenerator: {sizeBytes: 16}, warmup: 2}
                      - {name: c, jar: JAR, handler: "A::h", cold: {replicas: 3}, weight: 1}
                    load: {mode: open, arrival: {type: bursty, burstSize: 2, burstGapMs: 10}, requests: 12, concurrency: 8}
                    sweep: {parameter: burstSize, values: [1, 4]}
                    """.formatted(node.url()), out);
            assertThat(result.ok()).as(result.failures().toString()).isTrue();
            // deployments: w, c-r1..c-r3; warm-ups: 2 + 1 per replica, per sub-run; 12 measured per sub-run
            assertThat(node.calls).contains("PUT /functions/w", "PUT /functions/c-r1", "PUT /functions/c-r3",
                    "DELETE /functions/c-r2/instances", "DELETE /functions/w");
            assertThat(node.invocations.get()).isEqualTo(2 * (5 + 12));
            List<String> csv = Files.readAllLines(dir.resolve("out/requests.csv"));
            assertThat(csv.getFirst()).isEqualTo(RunOutputs.REQUESTS_HEADER);
            assertThat(csv).hasSize(1 + 2 * 17);
            assertThat(csv.stream().filter(l -> l.contains(",true,")).count()).isEqualTo(10);
            assertThat(result.rows()).extracting(RunStats.Row::sweep).contains("1", "4");
            assertThat(result.rows().stream().filter(r -> r.sweep().equals("4")).mapToLong(RunStats.Row::n)
                    .filter(n -> n > 0).sum()).isGreaterThanOrEqualTo(12);
            String table = Files.readString(dir.resolve("out/stats.txt"));
            assertThat(table).contains("burstSize", "p99/p50", "node overhead on warm calls", "cold starts, medians");
            assertThat(out.toString()).contains("p99.9");
            String html = Files.readString(dir.resolve("out/report.html"));
            assertThat(html).startsWith("<!DOCTYPE html>").contains("id=\"statistics\"", "id=\"cdf\"", "id=\"sweep\"",
                    "id=\"phases\"", "<svg", "<polyline", "Cold-start phases").doesNotContain("<script", "src=\"http");
            assertThat(Files.readString(dir.resolve("out/stats.csv"))).startsWith(RunOutputs.STATS_HEADER);
            assertThat(Files.readString(dir.resolve("out/config.json"))).contains("\"seed\" : 3");
        }
    }

    @Test
    void chainTransfersTakenInTurnGetTheirBandwidthAndTheirRatioToTheStore() throws Exception {
        try (FakeNode node = new FakeNode(0, 0)) {
            StringWriter out = new StringWriter();
            BenchRun.Result result = run("""
                    name: transfers
                    target: {url: "%s"}
                    functions:
                      - {name: s, jar: JAR, handler: "A::h", chain: {length: 2, payloadBytes: 1, transfer: store}, warmup: 0}
                      - {name: x, jar: JAR, handler: "A::h", chain: {length: 2, payloadBytes: 1, transfer: xdt}, warmup: 0}
                    load: {mode: closed, concurrency: 1, requests: 6, mix: rotate}
                    sweep: {parameter: payloadBytes, values: [1024, 1048576]}
                    """.formatted(node.url()), out);
            assertThat(result.ok()).as(result.failures().toString()).isTrue();
            assertThat(node.calls).contains("PUT /functions/s-1", "PUT /functions/x-2");
            String table = Files.readString(dir.resolve("out/stats.txt"));
            assertThat(table).contains("chain transfers", "MiB/s", "x store", "1 MiB", "1 KiB");
            List<String> csv = Files.readAllLines(dir.resolve("out/transfers.csv"));
            assertThat(csv.getFirst()).isEqualTo(RunOutputs.TRANSFERS_HEADER);
            assertThat(csv).hasSize(5);
            assertThat(csv.get(1)).startsWith("1024,s,store,3,0,").endsWith(",1.000");
            assertThat(csv.get(4)).startsWith("1048576,x,xdt,3,0,");
        }
    }

    @Test
    void aSpreadChainStartsItsSecondFunctionThroughAnotherNodeAndNeedsACluster() throws Exception {
        String scenario = """
                target: {url: "%s"}
                functions:
                  - {name: x, jar: JAR, handler: "A::h", chain: {length: 2, payloadBytes: 1, transfer: xdt, spread: true}, warmup: 0}
                load: {mode: closed, concurrency: 1, requests: 2}
                """;
        try (FakeNode node = new FakeNode(0, 0)) {
            BenchRun.Result single = run(scenario.formatted(node.url()), new StringWriter());
            assertThat(single.ok()).isFalse();
            assertThat(single.failures()).singleElement().asString().contains("chain.spread needs a cluster's front door");
        }
        try (FakeNode node = new FakeNode(0, 0)) {
            node.cluster = true;
            BenchRun.Result spread = run(scenario.formatted(node.url()), new StringWriter());
            assertThat(spread.ok()).as(spread.failures().toString()).isTrue();
            assertThat(node.calls).containsSubsequence("PUT /functions/x-2", "POST /functions/x-2/invoke",
                    "GET /cluster/nodes", "POST /functions/x-1/invoke");
        }
    }

    @Test
    void closedLoopWithEvictionBeforeEveryCall() throws Exception {
        try (FakeNode node = new FakeNode(0, 0)) {
            BenchRun.Result result = run("""
                    target: {url: "%s"}
                    functions:
                      - {name: cold, jar: JAR, handler: "A::h", cold: {evict: true}, warmup: 1}
                    load: {mode: closed, concurrency: 1, requests: 6}
                    """.formatted(node.url()), new StringWriter());
            assertThat(result.ok()).isTrue();
            // every measured call follows an evict, so the fake answers restore every time
            assertThat(result.rows()).singleElement().satisfies(r -> {
                assertThat(r.start()).isEqualTo("restore");
                assertThat(r.n()).isEqualTo(6);
            });
        }
    }

    /**
     * A server that answers one request at a time, 50 ms each, and an open loop that wants one every
     * 10 ms with one request in flight: request i cannot leave before i*50 ms, and its latency must
     * count from its intended time i*10 ms, not from when it actually left.
     */
    @Test
    void latencyIsMeasuredFromTheIntendedSendTime() throws Exception {
        try (FakeNode slow = new FakeNode(50, 1)) {
            BenchRun.Result result = run("""
                    target: {url: "%s", kind: http}
                    functions: [{name: slow, path: /functions/slow/invoke, warmup: 0}]
                    load: {mode: open, arrival: {type: fixed, iatMs: 10}, requests: 8, concurrency: 1}
                    """.formatted(slow.url()), new StringWriter());
            assertThat(result.ok()).isTrue();
            List<String> rows = Files.readAllLines(dir.resolve("out/requests.csv")).subList(1, 9);
            for (int i = 0; i < rows.size(); i++) {
                String[] c = rows.get(i).split(",");
                double intended = Double.parseDouble(c[5]);
                double sent = Double.parseDouble(c[6]);
                double latency = Double.parseDouble(c[8]);
                double service = Double.parseDouble(c[9]);
                assertThat(intended).isCloseTo(i * 10.0, org.assertj.core.api.Assertions.within(0.01));
                assertThat(sent).isGreaterThanOrEqualTo(i * 50.0 - 1);
                assertThat(service).isGreaterThanOrEqualTo(50.0 - 1);
                assertThat(latency).isCloseTo(service + (sent - intended), org.assertj.core.api.Assertions.within(0.01));
                assertThat(latency).isGreaterThanOrEqualTo(i * 40.0 + 49);
            }
        }
    }

    @Test
    void sameSeedSamePayloads() {
        RunConfig.FunctionSpec f = new RunConfig.FunctionSpec("f", null, null, null, null, null, null, null, null,
                new RunConfig.PayloadGenerator("d", 64), null, null, null, null, null);
        String a = new String(BenchRun.payload(f, new java.util.SplittableRandom(1)));
        assertThat(a).isEqualTo(new String(BenchRun.payload(f, new java.util.SplittableRandom(1)))).contains("\"d\":\"");
        assertThat(a).isNotEqualTo(new String(BenchRun.payload(f, new java.util.SplittableRandom(2))));
    }
}
