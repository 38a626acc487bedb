package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.core.ErrorType;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.ThawException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Three real node processes on one etcd and one S3 server: one boot in the cluster serves every
 * node's cold starts; any node is a front door; a node killed with SIGKILL under load loses nothing
 * the others acknowledged and placement stops using it within its lease; the Event invocations a
 * node accepted run on another when it is killed before they end; etcd restarted under load
 * and the nodes rejoin; concurrent deploys through two nodes make one history; a node with the wrong
 * store secret refuses snapshots and says why.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterIT {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Duration POLL = Duration.ofMillis(100);
    private static LocalCluster cluster;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(TestNode.criuAvailable(), "CRIU is not usable here (run scripts/install-criu.sh as root)");
        cluster = new LocalCluster(3);
        Eventually.poll(() -> cluster.node(1).client.clusterNodes().path("nodes").size(), n -> n == 3, WAIT, POLL);
    }

    @AfterAll
    static void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static FunctionManifest sleeper(String name) {
        return new FunctionManifest(name, TestNode.TF + "Sleeper::handle", null, 256, 30_000, Map.of(), 4, true);
    }

    /** An invocation through a node's front door, with the headers it answered. */
    private static HttpResponse<String> invoke(LocalCluster.NodeProcess via, String function, String json,
                                               String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(via.uri.resolve("/functions/" + function + "/invoke"))
                .header("Authorization", "Bearer " + Files.readString(cluster.token).strip())
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(90))
                .POST(HttpRequest.BodyPublishers.ofString(json));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String start(HttpResponse<?> r) {
        return r.headers().firstValue("X-Thaw-Start").orElse("?");
    }

    private static String ranOn(HttpResponse<?> r) {
        return r.headers().firstValue("X-Thaw-Node").orElse("?");
    }

    /** Boots of the function, summed over the live nodes' metrics. */
    private static int boots(String function) {
        Pattern p = Pattern.compile("thaw_function_coldstarts_total\\{function_name=\"" + function
                + "\",start=\"boot\"} (\\d+)");
        int sum = 0;
        for (LocalCluster.NodeProcess n : cluster.nodes) {
            if (!n.process.isAlive()) {
                continue;
            }
            Matcher m = p.matcher(n.client.metrics());
            if (m.find()) {
                sum += (int) Double.parseDouble(m.group(1));
            }
        }
        return sum;
    }

    @Test
    @Order(1)
    void deployedThroughOneNodeTheFunctionRunsThroughAnyAndOneBootServesTheCluster() throws Exception {
        FunctionInfo deployed = cluster.node(1).client.deploy(sleeper("sleeper"), TestNode.TEST_FUNCTIONS);
        assertThat(deployed.version()).isEqualTo(1);
        assertThat(deployed.snapshot().state()).as("the node that took the deploy boots to take it").isEqualTo("pending");
        for (int i = 2; i <= 3; i++) {
            var client = cluster.node(i).client;
            assertThat(Eventually.poll(() -> client.list().stream().map(FunctionInfo::name).toList(),
                    l -> l.contains("sleeper"), WAIT, POLL)).contains("sleeper");
        }
        // a node that never ran it describes the snapshot node 1 took, once the catalog names it
        FunctionInfo.SnapshotInfo seen = Eventually.poll(() -> cluster.node(2).client.describe("sleeper").snapshot(),
                sn -> sn.state().equals("ready"), WAIT, POLL);
        assertThat(seen.state()).as("%s", seen).isEqualTo("ready");
        assertThat(seen.reason()).contains("taken by node 'node-1'");
        assertThat(seen.sizeBytes()).isPositive();
        HttpResponse<String> first = invoke(cluster.node(3), "sleeper", "{\"ms\":1}");
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        assertThat(start(first)).as("restored, or forwarded to node 1's boot").isIn("restore", "warm");
        // the snapshot is in the catalog once it is in S3: then every node restores it, none boots again
        cluster.node(3).client.evict("sleeper");
        List<String> starts = new ArrayList<>();
        Set<String> nodes = new TreeSet<>();
        for (int i = 1; i <= 3; i++) {
            // run it right on node i, as a front door that placed it there would
            HttpResponse<String> r = invokeOn(cluster.node(i), "sleeper");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            starts.add(start(r));
            nodes.add(ranOn(r));
        }
        assertThat(nodes).containsExactly("node-1", "node-2", "node-3");
        assertThat(boots("sleeper")).as("one boot in the whole cluster; starts %s", starts).isEqualTo(1);
        assertThat(starts).allMatch(s -> s.equals("restore") || s.equals("warm"));

        // through node 3's front door, placement puts it where a warm instance waits
        HttpResponse<String> warm = invoke(cluster.node(3), "sleeper", "{\"ms\":1}");
        assertThat(start(warm)).isEqualTo("warm");
        assertThat(boots("sleeper")).isEqualTo(1);
        String logs = cluster.node(2).client.logs("sleeper", 500);
        assertThat(logs).contains("[node-1]", "[node-2]", "[node-3]").contains("SNAPSHOT shared");
        FunctionInfo described = cluster.node(2).client.describe("sleeper");
        assertThat(described.nodes()).containsOnlyKeys("node-1", "node-2", "node-3");

        // the snapshot verbs act on every node: each holds its own working copy and tiers
        var report = cluster.node(2).client.snapshot("sleeper");
        assertThat(report.path("snapshot").path("state").asText()).isEqualTo("ready");
        assertThat(report.path("nodes").has("node-1")).as("%s", report).isTrue();
        assertThat(report.path("nodes").has("node-3")).isTrue();
        assertThat(report.path("nodes").path("node-1").path("function").asText()).isEqualTo("sleeper");
        var evicted = cluster.node(2).client.evictSnapshot("sleeper", java.util.Set.of("working"));
        assertThat(evicted.path("dropped").has("working")).as("%s", evicted).isTrue();
        assertThat(evicted.path("nodes").path("node-3").path("dropped").has("working")).as("%s", evicted).isTrue();
        HttpResponse<String> afterEvict = invoke(cluster.node(2), "sleeper", "{\"ms\":1}");
        assertThat(afterEvict.statusCode()).isEqualTo(200);
    }

    @Test
    @Order(2)
    void aFirstInvocationAtAnotherNodeIsServedByTheDeploysOwnBoot() throws Exception {
        assertThat(cluster.node(1).client.deploy(sleeper("early"), TestNode.TEST_FUNCTIONS).snapshot().state()).isEqualTo("pending");
        Eventually.poll(() -> cluster.node(2).client.list().stream().map(FunctionInfo::name).toList(), l -> l.contains("early"),
                WAIT, POLL);
        // node 1's record names the version its boot is taking the snapshot of, as node 2 sees it
        assertThat(Eventually.poll(() -> booting(cluster.node(2)), b -> b.contains("node-1 early@1"), WAIT, POLL))
                .containsExactly("node-1 early@1");

        HttpResponse<String> r = invoke(cluster.node(2), "early", "{\"ms\":1}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(ranOn(r)).as("forwarded to the node whose boot takes the snapshot").isEqualTo("node-1");
        assertThat(start(r)).as("served by that boot, not a second one").isEqualTo("boot");
        assertThat(boots("early")).isEqualTo(1);
        assertThat(Eventually.poll(() -> cluster.node(1).client.logs("early", 200), l -> l.contains("SNAPSHOT taken"), WAIT, POLL))
                .as("that boot took the snapshot too").contains("SNAPSHOT taken");
        assertThat(Eventually.poll(() -> booting(cluster.node(2)), List::isEmpty, WAIT, POLL)).as("the claim went with the snapshot")
                .isEmpty();
    }

    /** @return "NODE VERSION" for every version a member's record says its boot is taking the snapshot of */
    private static List<String> booting(LocalCluster.NodeProcess via) {
        List<String> out = new ArrayList<>();
        via.client.clusterNodes().path("nodes").forEach(n -> n.path("booting").forEach(b -> out.add(n.path("id").asText() + " "
                + b.asText())));
        return out;
    }

    /** Runs the invocation on that node itself (the header a front door sets when it forwards). */
    /** @return the version of {@code name} node {@code n} serves, 0 while it knows of none */
    private static long deployedVersion(LocalCluster.NodeProcess n, String name) throws Exception {
        try {
            return n.client.describe(name).version();
        } catch (ThawException e) {
            if (e.type() == ErrorType.FunctionNotFound) {
                return 0;
            }
            throw e;
        }
    }

    private static HttpResponse<String> invokeOn(LocalCluster.NodeProcess n, String function) throws Exception {
        return invokeOn(n, function, "{\"ms\":1}");
    }

    private static HttpResponse<String> invokeOn(LocalCluster.NodeProcess n, String function, String json) throws Exception {
        return invoke(n, function, json, "X-Thaw-Forwarded", "it");
    }

    @Test
    @Order(2)
    void placementSpreadsColdStartsOverNodesAsTheFillUpAndEveryOneIsARestore() throws Exception {
        cluster.node(1).client.deploy(sleeper("spread"), TestNode.TEST_FUNCTIONS);
        HttpResponse<String> first = invoke(cluster.node(1), "spread", "{\"ms\":1}");
        assertThat(start(first)).isEqualTo("boot");
        Eventually.poll(() -> cluster.node(1).client.clusterNodes().toString(), s -> s.contains("spread@v1"), WAIT, POLL);
        cluster.node(1).client.evict("spread");
        // capacity 1 each: while one node runs a long invocation, the next cold start goes elsewhere
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        List<Future<HttpResponse<String>>> running = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            running.add(pool.submit(() -> invoke(cluster.node(2), "spread", "{\"ms\":6000}")));
            int busy = k + 1; // the busy nodes' load reaches the entry node's view (published every second)
            Eventually.poll(() -> clusterLoad(cluster.node(2)), load -> load >= busy, WAIT, POLL);
        }
        Set<String> ranOn = new TreeSet<>();
        for (Future<HttpResponse<String>> f : running) {
            HttpResponse<String> r = f.get();
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(start(r)).isEqualTo("restore");
            ranOn.add(ranOn(r));
        }
        pool.shutdown();
        assertThat(ranOn).as("cold starts spread over the nodes").hasSizeGreaterThanOrEqualTo(2);
        assertThat(boots("spread")).isEqualTo(1);
    }

    /** @return the load of every node, summed, as {@code node} sees the cluster */
    private static int clusterLoad(LocalCluster.NodeProcess node) {
        int load = 0;
        for (JsonNode n : node.client.clusterNodes().path("nodes")) {
            load += n.path("load").asInt();
        }
        return load;
    }

    @Test
    @Order(3)
    void concurrentDeploysThroughTwoNodesMakeOneHistoryEveryNodeAgreesOn() throws Exception {
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        List<Future<Long>> versions = new ArrayList<>();
        for (int k = 0; k < 6; k++) {
            int node = 1 + k % 2;
            String tag = "k" + k;
            versions.add(pool.submit(() -> cluster.node(node).client.deploy(new FunctionManifest("raced",
                    TestNode.TF + "EchoFunction::apply", null, 256, 30_000, Map.of("TAG", tag), 2, true),
                    TestNode.TEST_FUNCTIONS).version()));
        }
        List<Long> got = new ArrayList<>();
        for (Future<Long> f : versions) {
            got.add(f.get());
        }
        pool.shutdown();
        Collections.sort(got);
        assertThat(got).as("one gap-free history").containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
        for (LocalCluster.NodeProcess n : cluster.nodes) {
            // a node whose view has not heard of any version yet has no function of that name
            assertThat(Eventually.poll(() -> deployedVersion(n, "raced"), v -> v == 6, WAIT, POLL))
                    .as("%s's latest", n.id).isEqualTo(6);
        }
        String sha = cluster.node(1).client.describe("raced").codeSha256();
        assertThat(cluster.nodes).allSatisfy(n -> assertThat(n.client.describe("raced").codeSha256()).isEqualTo(sha));
        cluster.node(3).client.delete("raced");
        for (LocalCluster.NodeProcess n : cluster.nodes) {
            assertThat(Eventually.poll(() -> n.client.list().stream().map(FunctionInfo::name).toList(),
                    l -> !l.contains("raced"), WAIT, POLL)).doesNotContain("raced");
        }
    }

    @Test
    @Order(3)
    void anAliasSetThroughOneNodeResolvesAtEveryFrontDoorAndMovesAndGoesEverywhere() throws Exception {
        for (String tag : List.of("one", "two")) {
            cluster.node(1).client.deploy(new FunctionManifest("aliased", TestNode.TF + "EchoFunction::apply", null, 256,
                    30_000, Map.of("TAG", tag), 2, true), TestNode.TEST_FUNCTIONS);
        }
        assertThat(cluster.node(2).client.setAlias("aliased", "live", 1)).isEmpty();
        for (LocalCluster.NodeProcess n : cluster.nodes) {
            assertThat(Eventually.poll(() -> n.client.aliases("aliased"), a -> Long.valueOf(1).equals(a.get("live")), WAIT,
                    POLL)).as("%s's aliases", n.id).containsEntry("live", 1L);
            var r = n.client.invoke("aliased", "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    new dev.thaw.client.InvokeOptions(java.util.Optional.of("live"), dev.thaw.client.InvokeOptions.Type.REQUEST_RESPONSE,
                            false));
            assertThat(r.status()).as(r.bodyAsString()).isEqualTo(200);
            assertThat(r.executedVersion()).as("through %s's front door", n.id).hasValue(1);
        }
        assertThat(cluster.node(3).client.setAlias("aliased", "live", 2)).hasValue(1);
        assertThatThrownBy(() -> cluster.node(3).client.setAlias("aliased", "live", 7)).hasMessageContaining("no version 7");
        for (LocalCluster.NodeProcess n : cluster.nodes) {
            assertThat(Eventually.poll(() -> n.client.aliases("aliased"), a -> Long.valueOf(2).equals(a.get("live")), WAIT,
                    POLL)).as("%s sees the move", n.id).containsEntry("live", 2L);
        }
        // node 1 logs the move after its alias store has it
        assertThat(Eventually.poll(() -> cluster.node(1).client.logs("aliased", 200),
                l -> l.contains("ALIAS live -> version 2 (was 1) (cluster-wide"), WAIT, POLL))
                .contains("ALIAS live -> version 2 (was 1) (cluster-wide");
        assertThat(cluster.node(1).client.deleteAlias("aliased", "live")).isEqualTo(2);
        for (LocalCluster.NodeProcess n : cluster.nodes) {
            assertThat(Eventually.poll(() -> n.client.aliases("aliased"), java.util.Map::isEmpty, WAIT, POLL))
                    .as("%s sees the delete", n.id).isEmpty();
        }
        cluster.node(2).client.delete("aliased");
    }

    @Test
    @Order(4)
    void aSnapshotWarmedByTheOneNodeThatClaimsItReplacesTheCatalogsAndEveryNodesClonesRestoreIt() throws Exception {
        FunctionManifest counter = new FunctionManifest("warmed", TestNode.TF + "Counter::handle", null, 256, 30_000,
                Map.of(), 4, true).withWarmSnapshotAfter(3);
        cluster.node(1).client.deploy(counter, TestNode.TEST_FUNCTIONS);
        Eventually.poll(() -> cluster.node(1).client.logs("warmed", 200), l -> l.contains("SNAPSHOT taken"), WAIT, POLL);
        HttpResponse<String> first = invokeOn(cluster.node(2), "warmed", "{}");
        assertThat(start(first)).isEqualTo("restore");
        assertThat(invocations(first)).as("a clone of the snapshot taken after init").isEqualTo(1);
        assertThat(cluster.node(2).client.describe("warmed").snapshot().warming())
                .isEqualTo("once an instance on any node of the cluster has served 3 invocations");
        for (int i = 0; i < 4; i++) { // node 1's booted instance and node 2's clone both qualify: one node warms
            assertThat(invokeOn(cluster.node(1), "warmed", "{}").statusCode()).isEqualTo(200);
            assertThat(invokeOn(cluster.node(2), "warmed", "{}").statusCode()).isEqualTo(200);
        }
        // a function's log gathers every node's lines, each marked with its node
        List<LocalCluster.NodeProcess> both = List.of(cluster.node(1), cluster.node(2));
        LocalCluster.NodeProcess warmer = Eventually.poll(() -> both.stream().filter(n -> logs(cluster.node(3), "warmed")
                        .contains("[" + n.id + "] SNAPSHOT warmed shared with the cluster")).findFirst(), Optional::isPresent,
                        WAIT, POLL)
                .orElseThrow(() -> new AssertionError("no node shared a warmed snapshot: " + logs(cluster.node(3), "warmed")));
        LocalCluster.NodeProcess follower = warmer == cluster.node(1) ? cluster.node(2) : cluster.node(1);
        assertThat(Eventually.poll(() -> logs(follower, "warmed"),
                l -> l.contains("[" + follower.id + "] SNAPSHOT warmed on node " + warmer.id) || l.contains("SNAPSHOT_NOT"),
                WAIT, POLL))
                .as("%s moved to %s's warmed snapshot, and warmed none of its own", follower.id, warmer.id)
                .contains("[" + follower.id + "] SNAPSHOT warmed on node " + warmer.id)
                .doesNotContain("[" + follower.id + "] SNAPSHOT warmed in", "SNAPSHOT_NOT");
        Long warmedAfter = follower.client.describe("warmed").snapshot().warmedAfterInvocations();
        assertThat(warmedAfter).isNotNull().isGreaterThanOrEqualTo(3L);

        assertThat(cluster.node(3).client.describe("warmed").snapshot().warmedAfterInvocations())
                .as("node 3, which has not restored it yet, reads it from the catalog").isEqualTo(warmedAfter);

        follower.client.evict("warmed");
        HttpResponse<String> moved = invokeOn(follower, "warmed", "{}");
        assertThat(start(moved)).isEqualTo("restore");
        assertThat(invocations(moved)).as("a clone of the instance %s warmed", warmer.id).isEqualTo(warmedAfter + 1);
        HttpResponse<String> newcomer = invokeOn(cluster.node(3), "warmed", "{}");
        assertThat(start(newcomer)).isEqualTo("restore");
        assertThat(invocations(newcomer)).as("a node's first restore takes the catalog's warmed snapshot")
                .isEqualTo(warmedAfter + 1);
        assertThat(logs(cluster.node(3), "warmed")).contains("(warmed, of an instance that had served "
                + warmedAfter + " invocations)");
        cluster.node(1).client.delete("warmed");
    }

    @Test
    @Order(4)
    void aVersionWhoseSnapshotTakerLeftIsWarmedByANodeThatServesIt() throws Exception {
        FunctionManifest counter = new FunctionManifest("warmed-left", TestNode.TF + "Counter::handle", null, 256, 30_000,
                Map.of(), 4, true).withWarmSnapshotAfter(3);
        LocalCluster.NodeProcess taker = cluster.addNode("node-taker", List.of());
        try {
            taker.client.deploy(counter, TestNode.TEST_FUNCTIONS);
            assertThat(Eventually.poll(() -> snapshotReason(cluster.node(2), "warmed-left"),
                    r -> r.contains("taken by node 'node-taker'"), WAIT, POLL)).as("the catalog names node-taker's snapshot")
                    .contains("taken by node 'node-taker'");
        } finally {
            taker.close(); // it leaves the cluster before any instance has served an invocation
            cluster.nodes.remove(taker);
        }
        for (int i = 0; i < 4; i++) {
            HttpResponse<String> r = invokeOn(cluster.node(2), "warmed-left", "{}");
            assertThat(invocations(r)).as("a clone of node-taker's snapshot").isEqualTo(i + 1);
        }
        assertThat(Eventually.poll(() -> logs(cluster.node(2), "warmed-left"),
                l -> l.contains("[node-2] SNAPSHOT warmed shared with the cluster") || l.contains("SNAPSHOT_NOT"), WAIT, POLL))
                .contains("[node-2] SNAPSHOT warmed shared with the cluster");
        Long warmedAfter = cluster.node(2).client.describe("warmed-left").snapshot().warmedAfterInvocations();
        assertThat(warmedAfter).isNotNull().isGreaterThanOrEqualTo(3L);
        HttpResponse<String> elsewhere = invokeOn(cluster.node(3), "warmed-left", "{}");
        assertThat(start(elsewhere)).isEqualTo("restore");
        assertThat(invocations(elsewhere)).as("a clone of the instance node 2 warmed").isEqualTo(warmedAfter + 1);
        cluster.node(2).client.delete("warmed-left");
    }

    /**
     * A node holds its first snapshot's publish until it is quiet, as a node on its own does, so
     * that storing and uploading the image does not slow the invocations it serves meanwhile; but
     * not once another node waits for that snapshot. Node 1 stays busy with a long invocation
     * throughout, so only node 2's wait can end the hold before the invocation does.
     */
    @Test
    @Order(4)
    void aSnapshotHeldByABusyNodeIsPublishedAtOnceWhenAnotherNodeWaitsForIt() throws Exception {
        cluster.node(1).client.deploy(sleeper("keeps-busy"), TestNode.TEST_FUNCTIONS);
        Eventually.poll(() -> logs(cluster.node(1), "keeps-busy"), l -> l.contains("SNAPSHOT stored"), WAIT, POLL);
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        try {
            Future<HttpResponse<String>> busy = pool.submit(() -> invokeOn(cluster.node(1), "keeps-busy", "{\"ms\":25000}"));
            Eventually.poll(() -> cluster.node(1).client.describe("keeps-busy").instances().busy(), n -> n > 0, WAIT, POLL);

            cluster.node(1).client.deploy(sleeper("awaited"), TestNode.TEST_FUNCTIONS);
            JsonNode report = Eventually.poll(() -> cluster.node(1).client.snapshot("awaited"),
                    r -> r.path("publish").asText().startsWith("held"), WAIT, POLL);
            assertThat(report.path("publish").asText()).as("%s", report).startsWith("held until the node has been quiet");
            Thread.sleep(1000);
            assertThat(cluster.node(1).client.snapshot("awaited").path("publish").asText()).as("nobody waits: still held")
                    .startsWith("held");

            HttpResponse<String> elsewhere = invokeOn(cluster.node(2), "awaited");
            assertThat(elsewhere.statusCode()).as(elsewhere.body()).isEqualTo(200);
            assertThat(start(elsewhere)).as("a clone of node 1's snapshot").isEqualTo("restore");
            assertThat(busy.isDone()).as("node 1 was never quiet: its invocation still runs (node 1: %s; node 2: %s)",
                    logs(cluster.node(1), "awaited"), logs(cluster.node(2), "awaited")).isFalse();
            assertThat(logs(cluster.node(1), "awaited")).contains("until another node waited for it");
            assertThat(busy.get().statusCode()).isEqualTo(200);
        } finally {
            pool.shutdownNow();
        }
        cluster.node(1).client.delete("keeps-busy");
        cluster.node(1).client.delete("awaited");
    }

    /** @return what the node's describe says of the function's snapshot; what went wrong while it has not installed it */
    private static String snapshotReason(LocalCluster.NodeProcess n, String function) {
        try {
            return String.valueOf(n.client.describe(function).snapshot().reason());
        } catch (Exception e) {
            return "(not described: " + e.getMessage() + ")";
        }
    }

    private static String logs(LocalCluster.NodeProcess n, String function) {
        try {
            return n.client.logs(function, 200);
        } catch (Exception e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static long invocations(HttpResponse<String> r) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return dev.thaw.core.Json.mapper().readTree(r.body()).path("invocations").asLong();
    }

    @Test
    @Order(4)
    void aConsumerOnAnotherNodePullsStraightFromTheProducersNodeThroughTheMembership() throws Exception {
        cluster.node(1).client.deploy(new FunctionManifest("xdt-producer", TestNode.TF + "XdtProducer::handle", null, 256,
                30_000, Map.of(), 2, true), TestNode.TEST_FUNCTIONS);
        cluster.node(1).client.deploy(new FunctionManifest("xdt-consumer", TestNode.TF + "XdtConsumer::handleRequest", null,
                256, 30_000, Map.of(), 2, true), TestNode.TEST_FUNCTIONS);
        long bytes = 10L << 20;
        HttpResponse<String> p = invokeOn(cluster.node(1), "xdt-producer", "{\"bytes\":" + bytes + ",\"seed\":3}");
        assertThat(p.statusCode()).as(p.body()).isEqualTo(200);
        JsonNode produced = dev.thaw.core.Json.mapper().readTree(p.body());
        HttpResponse<String> c = invokeOn(cluster.node(2), "xdt-consumer",
                "{\"reference\":\"" + produced.path("reference").asText() + "\"}");
        assertThat(c.statusCode()).as(c.body()).isEqualTo(200);
        JsonNode consumed = dev.thaw.core.Json.mapper().readTree(c.body());
        assertThat(consumed.path("bytes").asLong()).as(c.body()).isEqualTo(bytes);
        assertThat(consumed.path("sha256").asText()).isEqualTo(XdtIT.sha256(bytes, 3));
        assertThat(Eventually.poll(() -> cluster.node(2).client.logs("xdt-consumer", 50), l -> l.contains("XDT Get"),
                WAIT, POLL)).contains("remote)");
    }

    @Test
    @Order(5)
    void aNodeWithTheWrongStoreSecretRefusesSnapshotsAndSaysWhy() throws Exception {
        LocalCluster.NodeProcess wrong = cluster.addNode("node-wrong", List.of("--store-secret-file",
                cluster.otherSecret().toString()));
        try {
            assertThat(wrong.logText()).contains("snapshots: snapshots are refused", "store secret is not the cluster's");
            JsonNode health = new com.fasterxml.jackson.databind.ObjectMapper().readTree(HTTP.send(HttpRequest.newBuilder(
                    wrong.uri.resolve("/healthz")).header("Authorization", "Bearer " + Files.readString(cluster.token).strip())
                    .build(), HttpResponse.BodyHandlers.ofString()).body());
            assertThat(health.path("snapshots").path("reason").asText()).contains("store secret is not the cluster's");
        } finally {
            wrong.close();
            cluster.nodes.remove(wrong);
        }
    }

    @Test
    @Order(5)
    void aDeployThatReachesANodeBeforeItJoinedWaitsForTheJoinAndIsTheClusters() throws Exception {
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
            port = free.getLocalPort();
        }
        // etcd away: the new node listens (the others will forward to that address) and waits to join
        cluster.etcd.stop();
        ExecutorService starter = Executors.newSingleThreadExecutor();
        Future<LocalCluster.NodeProcess> late = starter.submit(() -> cluster.addNode("node-late",
                List.of("--port", Integer.toString(port))));
        try (dev.thaw.client.ThawClient client = dev.thaw.client.ThawClient.create(java.net.URI.create(
                "http://127.0.0.1:" + port), Files.readString(cluster.token).strip(), Duration.ofMinutes(2));
             ExecutorService caller = Executors.newVirtualThreadPerTaskExecutor()) {
            Eventually.poll(() -> listens(port), Boolean::booleanValue, WAIT, POLL);
            Future<FunctionInfo> deploy = caller.submit(() -> client.deploy(sleeper("before-join"), TestNode.TEST_FUNCTIONS));
            Thread.sleep(1_500);
            assertThat(deploy.isDone()).as("a deploy taken before the node joined its cluster waits for the join").isFalse();
            cluster.etcd.restart();
            assertThat(deploy.get(90, java.util.concurrent.TimeUnit.SECONDS).version()).isEqualTo(1);
            LocalCluster.NodeProcess node = late.get(90, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(node.logText()).doesNotContain("'before-join' was deleted while this node was away");
            assertThat(node.client.describe("before-join").version()).isEqualTo(1);
            assertThat(Eventually.poll(() -> cluster.node(1).client.list().stream().anyMatch(f -> f.name().equals("before-join")),
                    Boolean::booleanValue, WAIT, POLL)).as("the deploy is the cluster's").isTrue();
            cluster.node(1).client.delete("before-join");
        } finally {
            if (!cluster.etcd.isRunning()) {
                cluster.etcd.restart();
            }
            starter.shutdown();
            try { // once it is up (it joins when etcd is back), so that the cluster's node list stays still
                LocalCluster.NodeProcess node = late.get(90, java.util.concurrent.TimeUnit.SECONDS);
                node.close();
                cluster.nodes.remove(node);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                // it did not start: nothing of it to close
            }
        }
    }

    private static boolean listens(int port) {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    @Test
    @Order(6)
    void etcdRestartedUnderLoadNodesKeepServingRefuseDeploysThenRejoin() throws Exception {
        AtomicBoolean going = new AtomicBoolean(true);
        List<String> failures = new CopyOnWriteArrayList<>();
        ConcurrentHashMap<String, Integer> ok = new ConcurrentHashMap<>();
        List<Thread> load = new ArrayList<>();
        for (int k = 1; k <= 3; k++) {
            LocalCluster.NodeProcess via = cluster.node(k);
            load.add(Thread.ofVirtual().start(() -> {
                while (going.get()) {
                    try {
                        HttpResponse<String> r = invoke(via, "sleeper", "{\"ms\":20}");
                        if (r.statusCode() == 200) {
                            ok.merge(via.id, 1, Integer::sum);
                        } else {
                            failures.add(via.id + ": " + r.statusCode() + " " + r.body());
                        }
                    } catch (Exception e) {
                        failures.add(via.id + ": " + e);
                    }
                }
            }));
        }
        Thread.sleep(1_000);
        cluster.etcd.stop();
        Thread.sleep(500);
        assertThatThrownBy(() -> cluster.node(2).client.deploy(sleeper("during-outage"), TestNode.TEST_FUNCTIONS))
                .isInstanceOfSatisfying(ThawException.class, e -> {
                    assertThat(e.type()).isEqualTo(ErrorType.ServiceUnavailable);
                    assertThat(e.getMessage()).contains("etcd", "deploys are refused");
                });
        Thread.sleep(3_000);
        cluster.etcd.restart();
        Thread.sleep(2_000);
        going.set(false);
        for (Thread t : load) {
            t.join();
        }
        assertThat(failures).as("invocations while etcd was away").isEmpty();
        assertThat(ok).containsOnlyKeys("node-1", "node-2", "node-3");
        for (LocalCluster.NodeProcess n : cluster.nodes) {
            assertThat(Eventually.poll(() -> n.client.clusterNodes(), b -> b.path("nodes").size() == 3
                    && b.path("etcd").asText().startsWith("CONNECTED"), WAIT, POLL).path("nodes").size())
                    .as("%s rejoined", n.id).isEqualTo(3);
        }
        assertThat(cluster.node(2).client.deploy(sleeper("after-outage"), TestNode.TEST_FUNCTIONS).version()).isEqualTo(1);
    }

    @Test
    @Order(7)
    void aNodeKilledUnderLoadLosesNothingTheOthersAcknowledgedAndPlacementDropsItWithinItsLease() throws Exception {
        LocalCluster.NodeProcess victim = cluster.node(3);
        AtomicBoolean going = new AtomicBoolean(true);
        List<String> unexpected = new CopyOnWriteArrayList<>();
        List<String> lost = new CopyOnWriteArrayList<>();
        ConcurrentHashMap<String, Integer> ranOn = new ConcurrentHashMap<>();
        List<Thread> load = new ArrayList<>();
        for (int k = 1; k <= 2; k++) {
            LocalCluster.NodeProcess via = cluster.node(k);
            load.add(Thread.ofVirtual().start(() -> {
                while (going.get()) {
                    try {
                        HttpResponse<String> r = invoke(via, "sleeper", "{\"ms\":200}");
                        if (r.statusCode() == 200) {
                            ranOn.merge(ranOn(r), 1, Integer::sum);
                        } else if (r.body().contains("NodeLost") && r.body().contains(victim.id)) {
                            lost.add(r.body());
                        } else {
                            unexpected.add(via.id + ": " + r.statusCode() + " " + r.body());
                        }
                    } catch (Exception e) {
                        unexpected.add(via.id + ": " + e);
                    }
                }
            }));
        }
        // Event invocations accepted by node 1: at least once each, wherever they run, node 3's death included
        List<String> events = new ArrayList<>();
        for (int k = 0; k < 6; k++) {
            HttpResponse<String> e = invoke(cluster.node(1), "sleeper", "{\"ms\":300}", "X-Amz-Invocation-Type", "Event");
            assertThat(e.statusCode()).isEqualTo(202);
            events.add(e.headers().firstValue("X-Amz-Request-Id").orElseThrow());
        }
        Thread.sleep(1_500);
        long killedAt = System.nanoTime();
        victim.kill();
        String gone = Eventually.poll(() -> cluster.node(1).client.clusterNodes().toString(),
                s -> !s.contains("\"" + victim.id + "\""), Duration.ofSeconds(10), Duration.ofMillis(20));
        double dropMs = (System.nanoTime() - killedAt) / 1e6;
        assertThat(gone).doesNotContain("\"" + victim.id + "\"");
        System.out.printf("ClusterIT: node-3 killed; gone from node-1's view after %.0f ms (lease TTL 2 s)%n", dropMs);
        assertThat(dropMs).as("placement stops using the dead node within its lease (and a loaded machine's margin)").isLessThan(2_000 + 2_500);
        ranOn.clear();
        Thread.sleep(2_000);
        going.set(false);
        for (Thread t : load) {
            t.join();
        }
        assertThat(unexpected).as("answers other than 200 or a NodeLost naming node-3").isEmpty();
        assertThat(ranOn).as("after it left, nothing ran on node-3").doesNotContainKey(victim.id).isNotEmpty();
        // every node's log file, the dead node's included: an event it ran to the end before it died counts
        String logs = Eventually.poll(ClusterIT::allLogs, l -> events.stream().allMatch(id -> l.contains("END RequestId: " + id)),
                WAIT, Duration.ofMillis(500));
        assertThat(events).allSatisfy(id -> assertThat(logs).contains("END RequestId: " + id));
        System.out.printf("ClusterIT: %d invocations answered NodeLost naming node-3%n", lost.size());
    }

    @Test
    @Order(8)
    void eventsANodeAcceptedRunOnAnotherWhenItIsKilledBeforeTheyEnd() throws Exception {
        // a dead letter is kept by the node that accepted its event, and seen and cleared through any node
        cluster.node(1).client.deploy(new FunctionManifest("fails", TestNode.TF + "HandlerThrows::handle", null, 256,
                30_000, Map.of(), 2, false), TestNode.TEST_FUNCTIONS);
        Eventually.poll(() -> cluster.node(2).client.list().stream().map(FunctionInfo::name).toList(),
                l -> l.contains("fails"), WAIT, POLL);
        HttpResponse<String> failing = invoke(cluster.node(1), "fails", "{\"n\":1}", "X-Amz-Invocation-Type", "Event");
        assertThat(failing.statusCode()).isEqualTo(202);
        var letters = Eventually.poll(() -> cluster.node(2).client.deadLetters("fails").path("deadLetters"),
                l -> l.size() == 1, WAIT, POLL);
        assertThat(letters.get(0).path("node").asText()).isEqualTo("node-1");
        assertThat(letters.get(0).path("requestId").asText())
                .isEqualTo(failing.headers().firstValue("X-Amz-Request-Id").orElseThrow());
        assertThat(cluster.node(2).client.clearDeadLetters("fails")).isEqualTo(1);
        assertThat(cluster.node(1).client.deadLetters("fails").path("deadLetters")).isEmpty();

        LocalCluster.NodeProcess victim = cluster.node(2);
        List<String> events = new ArrayList<>();
        for (int k = 0; k < 4; k++) {
            HttpResponse<String> e = invoke(victim, "sleeper", "{\"ms\":1500}", "X-Amz-Invocation-Type", "Event");
            assertThat(e.statusCode()).isEqualTo(202);
            events.add(e.headers().firstValue("X-Amz-Request-Id").orElseThrow());
        }
        Thread.sleep(200); // accepted and begun, none ended
        victim.kill();
        // node 1 sees node 2 leave once its lease ends, takes its events over from the ledger and runs them
        assertThat(Eventually.poll(() -> cluster.node(1).client.metrics(),
                m -> m.contains("thaw_events_adopted_total{function_name=\"sleeper\"} 4.0"), WAIT, POLL))
                .contains("thaw_events_adopted_total{function_name=\"sleeper\"} 4.0");
        java.nio.file.Path log = cluster.node(1).dataDir.resolve("functions/sleeper/function.log");
        String logs = Eventually.poll(() -> Files.readString(log),
                l -> events.stream().allMatch(id -> l.contains("END RequestId: " + id)), WAIT, Duration.ofMillis(500));
        assertThat(events).allSatisfy(id -> assertThat(logs).contains("END RequestId: " + id));
        assertThat(Eventually.poll(() -> cluster.node(1).client.metrics(),
                m -> m.contains("thaw_events_pending 0.0"), WAIT, POLL)).contains("thaw_events_pending 0.0");
    }

    private static String allLogs() throws java.io.IOException {
        StringBuilder all = new StringBuilder();
        for (LocalCluster.NodeProcess n : cluster.nodes) {
            java.nio.file.Path f = n.dataDir.resolve("functions/sleeper/function.log");
            if (Files.exists(f)) {
                all.append(Files.readString(f));
            }
        }
        return all.toString();
    }

    /** Runs {@code thaw cluster up} as a user types it, uses it with the CLI, stops it with SIGTERM: nothing stays. */
    @Test
    @Order(9)
    void clusterUpAsTypedRunsAClusterTheCliUsesAndLeavesNothingBehind() throws Exception {
        java.nio.file.Path dir = Files.createTempDirectory("thaw-it-cluster-up-");
        java.nio.file.Path log = dir.resolveSibling(dir.getFileName() + ".log");
        int port = freePortRange(2);
        Process up = new ProcessBuilder(CliJar.command("cluster", "up", "--nodes", "2", "--port", Integer.toString(port),
                "--dir", dir.toString())).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            String out = Eventually.poll(() -> Files.readString(log), s -> s.contains("cluster up:") || !up.isAlive(),
                    Duration.ofSeconds(120), POLL);
            assertThat(out).as(out).contains("cluster up: 2 nodes");
            String url2 = "http://127.0.0.1:" + (port + 1);
            var deploy = CliJar.run("--url", "http://127.0.0.1:" + port, "deploy", "echo", "--jar",
                    TestNode.TEST_FUNCTIONS.toString(), "--handler", TestNode.TF + "EchoFunction::apply");
            assertThat(deploy.exitCode()).as(deploy.stderr()).isZero();
            var invoke = Eventually.poll(() -> CliJar.run("--url", url2, "invoke", "echo", "--data", "{\"x\":1}", "--verbose"),
                    r -> r.exitCode() == 0, WAIT, Duration.ofMillis(500));
            assertThat(invoke.stdout()).contains("\"x\":1");
            assertThat(invoke.stderr()).contains("node:");
            var nodes = CliJar.run("--url", url2, "cluster", "nodes");
            assertThat(nodes.exitCode()).as(nodes.stderr()).isZero();
            assertThat(nodes.stdout().lines().toList()).first().asString().startsWith("ID").contains("ADDRESS", "STATE", "LOAD");
            assertThat(nodes.stdout()).contains("node-1", "node-2", "active");
        } finally {
            up.destroy(); // SIGTERM, as Ctrl-C
            boolean exited = up.waitFor(90, java.util.concurrent.TimeUnit.SECONDS);
            if (!exited) {
                up.destroyForcibly();
            }
            String text = Files.readString(log);
            List<String> left = leftovers(dir.toString());
            Files.deleteIfExists(log);
            dev.thaw.core.FileTrees.deleteQuietly(dir);
            assertThat(exited).as("cluster up stops on SIGTERM: %s", text).isTrue();
            assertThat(text).contains("cluster stopped");
            assertThat(left).as("processes left behind").isEmpty();
        }
    }

    /** @return processes whose command line names {@code dir} (etcd, the S3 server, the nodes, their instances) */
    private static List<String> leftovers(String dir) throws java.io.IOException {
        List<String> out = new ArrayList<>();
        try (var procs = Files.list(java.nio.file.Path.of("/proc"))) {
            for (java.nio.file.Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    String cmd = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8).replace('\0', ' ');
                    if (cmd.contains(dir)) {
                        out.add(p.getFileName() + ": " + cmd);
                    }
                } catch (java.io.IOException e) {
                    // gone meanwhile
                }
            }
        }
        return out;
    }

    private static int freePortRange(int n) throws java.io.IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            int base = 20_000 + new java.util.Random().nextInt(20_000);
            boolean free = true;
            for (int i = 0; i < n && free; i++) {
                try (var s = new java.net.ServerSocket(base + i, 1, java.net.InetAddress.getLoopbackAddress())) {
                    s.setReuseAddress(true);
                } catch (java.io.IOException e) {
                    free = false;
                }
            }
            if (free) {
                return base;
            }
        }
        throw new java.io.IOException("no " + n + " free consecutive ports");
    }
}
