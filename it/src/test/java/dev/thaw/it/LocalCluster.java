package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.client.ThawClient;
import dev.thaw.cluster.LocalEtcd;
import dev.thaw.core.FileTrees;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A cluster for the tests, made of real processes: etcd (in this JVM's control, so a test can stop
 * and restart it), the S3 server as a process of its own ({@code thaw s3-server}), and nodes, each a
 * {@code thaw up --cluster} process with its own data directory, all given the same secrets as files.
 */
final class LocalCluster implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("thaw node listening on (http://\\S+)");
    private static final Pattern S3_LISTENING = Pattern.compile("s3 server listening on (http://\\S+)");
    private static final SecureRandom RANDOM = new SecureRandom();
    /** How long after the nodes stopped their instances may take to die (see instancesLeft). */
    private static final Duration LEFT_GRACE = Duration.ofSeconds(5);

    final Path root;
    final LocalEtcd etcd;
    final Process s3;
    final String s3Url;
    final Path token;
    final Path aws;
    final Path storeSecret;
    final Path xdtKey;
    private final String s3Access = "THAWIT" + RANDOM.nextInt(1_000_000);
    private final String s3Secret = secret(24);
    final List<NodeProcess> nodes = new ArrayList<>();

    /** One node: a {@code thaw up} process. */
    final class NodeProcess implements AutoCloseable {
        final String id;
        final Path dataDir;
        final Path log;
        final Process process;
        final URI uri;
        final ThawClient client;

        NodeProcess(String id, List<String> extra) throws Exception {
            this.id = id;
            this.dataDir = root.resolve(id);
            this.log = root.resolve(id + ".log");
            List<String> args = new ArrayList<>(List.of("up", "--port", "0", "--data-dir", dataDir.toString(),
                    "--node-id", id, "--cluster", etcd.clientEndpoint().toString(), "--lease-ttl-s", "2",
                    "--s3-endpoint", s3Url, "--s3-bucket", "thaw-cluster", "--store-no-warm-up",
                    "--api-token-file", token.toString(), "--aws-credentials-file", aws.toString(),
                    "--store-secret-file", storeSecret.toString(), "--xdt-key-file", xdtKey.toString(),
                    "--capacity", "1", "--keep-alive-s", "120", "--event-retry-delay-ms", "1000"));
            for (int i = 0; i < extra.size(); i += 2) {
                int at = args.indexOf(extra.get(i));
                if (at >= 0 && i + 1 < extra.size()) {
                    args.set(at + 1, extra.get(i + 1)); // the test's value replaces the cluster's
                } else {
                    args.add(extra.get(i));
                    if (i + 1 < extra.size()) {
                        args.add(extra.get(i + 1));
                    }
                }
            }
            this.process = start(args, log);
            this.uri = URI.create(await(process, log, LISTENING, id));
            this.client = ThawClient.create(uri, Files.readString(token).strip(), Duration.ofMinutes(2));
        }

        /** SIGKILL: the node dies without a word; its instances die with it. */
        void kill() throws InterruptedException {
            process.destroyForcibly();
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }

        String logText() throws IOException {
            return Files.readString(log);
        }

        @Override
        public void close() throws Exception {
            client.close();
            if (process.isAlive()) {
                process.destroy();
                if (!process.waitFor(40, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }

    LocalCluster(int nodeCount) throws Exception {
        root = Files.createTempDirectory("thaw-it-cluster-");
        Path secrets = Files.createDirectories(root.resolve("secrets"));
        token = write(secrets.resolve("api-token"), secret(32) + "\n");
        aws = write(secrets.resolve("aws-credentials"), "[thaw]\naws_access_key_id = AKTHAWIT" + RANDOM.nextInt(1_000_000)
                + "\naws_secret_access_key = " + secret(30) + "\n");
        storeSecret = write(secrets.resolve("store.secret"), secret(32));
        xdtKey = write(secrets.resolve("xdt.key"), Base64.getEncoder().encodeToString(bytes(32)) + "\n");
        etcd = LocalEtcd.builder().dataDir(root.resolve("etcd")).build();
        Path s3Log = root.resolve("s3.log");
        s3 = start(List.of("s3-server", "--dir", root.resolve("s3").toString(), "--bucket", "thaw-cluster"), s3Log);
        s3Url = await(s3, s3Log, S3_LISTENING, "the S3 server");
        for (int i = 1; i <= nodeCount; i++) {
            nodes.add(new NodeProcess("node-" + i, List.of()));
        }
    }

    NodeProcess node(int i) {
        return nodes.get(i - 1);
    }

    /** Starts one more node, with further {@code thaw up} options (name and value pairs). */
    NodeProcess addNode(String id, List<String> extra) throws Exception {
        NodeProcess n = new NodeProcess(id, extra);
        nodes.add(n);
        return n;
    }

    /** @return a file of fresh random secret bytes, owner-only, as a node with the wrong secret gets */
    Path otherSecret() throws IOException {
        return write(root.resolve("secrets").resolve("other-store.secret"), secret(32));
    }

    private Process start(List<String> args, Path log) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(CliJar.command(args.toArray(String[]::new))).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
        Map<String, String> env = pb.environment();
        env.put("THAW_S3_ACCESS_KEY", s3Access);
        env.put("THAW_S3_SECRET_KEY", s3Secret);
        env.remove("THAW_TOKEN");
        return pb.start();
    }

    private static String await(Process p, Path log, Pattern pattern, String what) throws Exception {
        String text = Eventually.poll(() -> Files.exists(log) ? Files.readString(log) : "",
                t -> pattern.matcher(t).find() || !p.isAlive(), Duration.ofSeconds(120), Duration.ofMillis(100));
        Matcher m = pattern.matcher(text);
        assertThat(m.find()).as("%s did not start: %s", what, text).isTrue();
        return m.group(1);
    }

    private static Path write(Path file, String content) throws IOException {
        Files.writeString(file, content, StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return file;
    }

    private static byte[] bytes(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }

    private static String secret(int n) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes(n));
    }

    /** Stops every node (each drains), the S3 server and etcd, and deletes everything; checks nothing is left. */
    @Override
    public void close() throws Exception {
        for (NodeProcess n : nodes) {
            n.close();
        }
        s3.destroy();
        if (!s3.waitFor(20, TimeUnit.SECONDS)) {
            s3.destroyForcibly();
        }
        etcd.close();
        List<String> left = instancesLeft();
        for (NodeProcess n : nodes) {
            TestNode.sweepDeadNode(n.dataDir); // a node the test killed left its scratch mounts
        }
        FileTrees.deleteQuietly(root);
        assertThat(left).as("instance processes left running after the cluster stopped").isEmpty();
    }

    /**
     * The nodes' instance processes still there a little after the nodes stopped: an instance of a
     * node that was killed dies with its supervisor once the kernel has closed the node's lifeline,
     * which takes a moment after the node's own exit; one still running after {@link #LEFT_GRACE} is a
     * leak.
     */
    private List<String> instancesLeft() throws Exception {
        long deadline = System.nanoTime() + LEFT_GRACE.toNanos();
        while (true) {
            List<Long> left = new ArrayList<>();
            for (NodeProcess n : nodes) {
                left.addAll(TestNode.processesUnder(n.dataDir));
            }
            if (left.isEmpty() || System.nanoTime() > deadline) {
                return left.stream().map(TestNode::describe).toList();
            }
            Thread.sleep(100);
        }
    }
}
