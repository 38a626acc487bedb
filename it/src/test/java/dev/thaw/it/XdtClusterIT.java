package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.client.ThawClient;
import dev.thaw.core.FileTrees;
import dev.thaw.core.FunctionManifest;
import dev.thaw.node.XdtSettings;
import dev.thaw.node.xdt.TransferKey;
import dev.thaw.store.EmbeddedS3;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Two real nodes on one machine, each with its own data directory and ports, sharing the cluster's
 * transfer key file and an S3 service: a consumer on node B pulls a producer's data straight from
 * node A (a static NodeDirectory stands in for the cluster's); then node A, a process of its own,
 * is killed with SIGKILL, and B's consumer is told the non-durable data is lost with node A, while
 * the durable data comes from S3.
 */
class XdtClusterIT {
    private static final Pattern LISTENING = Pattern.compile("thaw node listening on (http://\\S+)");
    private static final Pattern TRANSFERS = Pattern.compile("transfers \\(XDT\\): node (\\S+), other nodes pull from (\\S+)");

    /** Node A: {@code thaw up} from the CLI's JAR, in a JVM of its own, so that it can really be killed. */
    private static final class NodeProcess implements AutoCloseable {
        final Process process;
        final Path dataDir;
        final String url;
        final String nodeId;
        final String transferAddress;
        final ThawClient client;
        final List<String> output = new ArrayList<>();

        NodeProcess(Path dataDir, EmbeddedS3 s3, String bucket, Path keyFile) throws IOException {
            this.dataDir = dataDir;
            var s3config = s3.config(bucket);
            List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED",
                    "-Dthaw.runtime.jar=" + TestNode.FUNCTIONS.resolve("thaw-runtime.jar").toAbsolutePath(),
                    "-Dthaw.criu=" + Path.of(System.getProperty("thaw.criu", ".thaw/criu/bin/criu")).toAbsolutePath(),
                    "-jar", TestNode.FUNCTIONS.resolve("thaw-cli.jar").toAbsolutePath().toString(),
                    "up", "--port", "0", "--data-dir", dataDir.toString(), "--store-no-warm-up",
                    "--s3-endpoint", s3config.endpoint().toString(), "--s3-bucket", bucket,
                    "--node-id", "node-a", "--xdt-key-file", keyFile.toString(), "--xdt-listen", "127.0.0.1:0");
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().put("THAW_S3_ACCESS_KEY", s3config.accessKey());
            pb.environment().put("THAW_S3_SECRET_KEY", s3config.secretKey());
            process = pb.start();
            BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            String u = null;
            String id = null;
            String at = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            for (String line; (line = out.readLine()) != null && System.nanoTime() < deadline; ) {
                output.add(line);
                Matcher l = LISTENING.matcher(line);
                if (l.find()) {
                    u = l.group(1);
                }
                Matcher t = TRANSFERS.matcher(line);
                if (t.find()) {
                    id = t.group(1);
                    at = t.group(2);
                }
                if (line.contains("press Ctrl-C to stop")) {
                    break;
                }
            }
            assertThat(u).as("node A's output: %s", output).isNotNull();
            assertThat(at).as("node A's output: %s", output).isNotNull();
            this.url = u;
            this.nodeId = id;
            this.transferAddress = at;
            Thread.ofVirtual().start(() -> {
                try {
                    for (String line; (line = out.readLine()) != null; ) {
                        synchronized (output) {
                            output.add(line);
                        }
                    }
                } catch (IOException e) {
                    // the process ended
                }
            });
            this.client = ThawClient.create(java.net.URI.create(url),
                    Files.readString(dataDir.resolve("api-token")).strip(), Duration.ofMinutes(2));
        }

        /** SIGKILL, then the instances it left behind (a killed node cannot stop them). */
        void kill() throws Exception {
            process.destroyForcibly();
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(process.exitValue()).as("killed by SIGKILL").isEqualTo(137);
            killInstances();
        }

        private void killInstances() throws IOException, InterruptedException {
            for (long pid : TestNode.processesUnder(dataDir)) {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!TestNode.processesUnder(dataDir).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
        }

        @Override
        public void close() throws Exception {
            client.close();
            if (process.isAlive()) {
                process.destroyForcibly();
                process.waitFor(30, TimeUnit.SECONDS);
            }
            killInstances();
            FileTrees.deleteQuietly(dataDir);
        }
    }

    private static JsonNode call(ThawClient client, String function, String json) throws IOException {
        var r = client.invoke(function, json.getBytes(StandardCharsets.UTF_8));
        assertThat(r.status()).as(r.bodyAsString()).isEqualTo(200);
        return dev.thaw.core.Json.mapper().readTree(r.body());
    }

    @Test
    void aConsumerOnNodeBPullsFromNodeAAndAfterNodeAIsKilledOnlyDurableDataSurvives() throws Exception {
        Path work = Files.createTempDirectory("thaw-xdt-cluster-");
        Path keyFile = work.resolve("xdt.key");
        TransferKey.load(keyFile, true); // the cluster's key: one file, given to both nodes
        String bucket = "thaw-xdt-it";
        try (EmbeddedS3 s3 = EmbeddedS3.start(work.resolve("s3"));
             NodeProcess a = new NodeProcess(work.resolve("node-a"), s3, bucket, keyFile);
             TestNode b = new TestNode(cfg -> cfg.s3(s3.config(bucket)).xdt(XdtSettings.DEFAULT.withKeyFile(keyFile)
                     .withNodeId("node-b").withPeers(Map.of("node-a", a.transferAddress))))) {
            assertThat(a.nodeId).isEqualTo("node-a");
            assertThat(b.node.nodeId()).isEqualTo("node-b");
            a.client.deploy(new FunctionManifest("xdt-producer", TestNode.TF + "XdtProducer::handle", null, 256, 60_000,
                    Map.of(), 8, true), TestNode.TEST_FUNCTIONS);
            b.deploy("xdt-consumer", TestNode.TF + "XdtConsumer::handleRequest");

            // alive: B pulls straight from A, 100 MB, verified against the reference's SHA-256
            long big = 100L << 20;
            JsonNode live = call(a.client, "xdt-producer", "{\"bytes\":" + big + ",\"seed\":11}");
            JsonNode pulled = XdtIT.consume(b, "xdt-consumer", live.path("reference").asText());
            assertThat(pulled.path("refused").isMissingNode()).as(pulled.toString()).isTrue();
            assertThat(pulled.path("sha256").asText()).isEqualTo(XdtIT.sha256(big, 11));
            b.awaitLog("xdt-consumer", "XDT Get: 1 (100.0 MB");
            String report = b.client.logs("xdt-consumer", 20).lines().filter(l -> l.contains("XDT Get: 1 (100.0 MB"))
                    .findFirst().orElseThrow();
            assertThat(report).contains("remote)");
            System.out.println("node B's consumer, pulling 100 MiB from node A: " + report.substring(report.indexOf("Duration")));
            // A counts what it served after its trailer is out, which B may have read and answered with already
            String served = "thaw_xdt_served_bytes_total " + (double) big;
            assertThat(Eventually.poll(() -> a.client.metrics(), m -> m.contains(served), Duration.ofSeconds(15),
                    Duration.ofMillis(20))).contains(served);
            // once more, both nodes' code compiled: what a pull between two warm nodes takes on this machine
            JsonNode again = XdtIT.consume(b, "xdt-consumer",
                    call(a.client, "xdt-producer", "{\"bytes\":" + big + ",\"seed\":14}").path("reference").asText());
            assertThat(again.path("sha256").asText()).isEqualTo(XdtIT.sha256(big, 14));
            b.awaitLog("xdt-consumer", "XDT Get: 1 (100.0 MB");
            System.out.println("and warm: " + b.client.logs("xdt-consumer", 20).lines()
                    .filter(l -> l.contains("XDT Get: 1 (100.0 MB")).reduce((x, y) -> y).orElseThrow());
            // A frees an object once its trailer is out, which B may have read and answered with already
            assertThat(Eventually.poll(() -> a.client.health().path("transfers").path("objects").asInt(), n -> n == 0,
                    Duration.ofSeconds(15), Duration.ofMillis(20))).as("freed on A once read").isZero();

            // two more references, then A dies before they are read
            long size = 10L << 20;
            String lost = call(a.client, "xdt-producer", "{\"bytes\":" + size + ",\"seed\":12}").path("reference").asText();
            String durable = call(a.client, "xdt-producer", "{\"bytes\":" + size + ",\"seed\":13,\"durable\":true}")
                    .path("reference").asText();
            assertThat(Eventually.poll(() -> a.client.metrics(),
                    m -> m.contains("thaw_xdt_durable_uploads_total{result=\"ok\"} 1.0"), Duration.ofSeconds(30),
                    Duration.ofMillis(100))).contains("thaw_xdt_durable_uploads_total{result=\"ok\"} 1.0");
            a.kill();

            JsonNode refused = XdtIT.consume(b, "xdt-consumer", lost);
            assertThat(refused.path("refused").asText()).as(refused.toString()).isEqualTo("LOST");
            assertThat(refused.path("message").asText()).contains("node 'node-a'").contains("cannot be reached")
                    .contains("not durable").contains("run function 'xdt-producer' again")
                    .doesNotContain(a.transferAddress);

            JsonNode fromS3 = XdtIT.consume(b, "xdt-consumer", durable);
            assertThat(fromS3.path("refused").isMissingNode()).as(fromS3.toString()).isTrue();
            assertThat(fromS3.path("sha256").asText()).isEqualTo(XdtIT.sha256(size, 13));
            b.awaitLog("xdt-consumer", "s3)");
            assertThat(XdtIT.consume(b, "xdt-consumer", durable).path("refused").asText()).as("still read once only")
                    .isEqualTo("USED_UP");
        } finally {
            for (String node : List.of("node-a", "node-b")) {
                TestNode.sweepDeadNode(work.resolve(node)); // node-a was killed: its scratch mounts
            }
            FileTrees.deleteQuietly(work);
        }
    }
}
