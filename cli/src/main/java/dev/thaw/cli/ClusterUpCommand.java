package dev.thaw.cli;

import dev.thaw.cluster.LocalEtcd;
import dev.thaw.core.FileTrees;
import java.io.IOException;
import java.io.PrintWriter;
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
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/*
 * `thaw cluster up`: a whole cluster on this machine, in the foreground. It starts etcd (the
 * project's own, scripts/install-etcd.sh), the S3 server every node shares (a process of its own, so
 * it outlives any node) and N nodes, each a `thaw up` process with its own data directory and port,
 * all given the same secrets as files: the API token (the default data directory's, so the CLI finds
 * it as it does for a single node), the AWS access keys, the store's secret and the transfer key.
 *
 * Everything lives under one directory (.thaw/cluster by default) and survives a restart: the next
 * `cluster up` finds its functions, snapshots and etcd data again; --fresh starts empty. Ctrl-C or
 * SIGTERM stops the nodes (each drains), then the S3 server and etcd. The nodes and the S3 server
 * also watch their standard input, a pipe this process holds: if it is killed outright they stop by
 * themselves.
 */
/** {@code thaw cluster up} (see the comment above). */
@Command(name = "up", description = {"Starts a cluster on this machine in the foreground: etcd, the S3 server and N nodes",
        "whose APIs answer on 127.0.0.1 ports P..P+N-1. Ctrl-C or SIGTERM stops them all."})
final class ClusterUpCommand implements Callable<Integer>, ThawCli.LocalCommand {
    private static final Pattern LISTENING = Pattern.compile("thaw node listening on (http://\\S+)");
    private static final Pattern S3_LISTENING = Pattern.compile("s3 server listening on (http://\\S+)");
    private static final Duration START_WAIT = Duration.ofSeconds(120);
    private static final SecureRandom RANDOM = new SecureRandom();

    @Spec
    CommandSpec spec;

    @Option(names = "--nodes", defaultValue = "3", paramLabel = "N", description = "How many nodes (default ${DEFAULT-VALUE}).")
    int nodes;

    @Option(names = "--port", defaultValue = "8080", paramLabel = "P",
            description = "The first node's API port; node i answers on P+i-1 (default ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--dir", defaultValue = ".thaw/cluster", paramLabel = "DIR",
            description = "Where etcd, the S3 server and the nodes keep their data (default ${DEFAULT-VALUE}).")
    Path dir;

    @Option(names = "--fresh", description = "Start empty: delete what an earlier cluster left in --dir.")
    boolean fresh;

    @Option(names = "--lease-ttl-s", defaultValue = "5", paramLabel = "S",
            description = "Seconds until the cluster sees a dead node gone (default ${DEFAULT-VALUE}).")
    int leaseTtlSeconds;

    @Option(names = "--node-option", paramLabel = "OPTION", split = " ",
            description = "Further `thaw up` options for every node, e.g. --node-option=--no-sandbox (repeatable).")
    List<String> nodeOptions = new ArrayList<>();

    private final List<Process> processes = new ArrayList<>();
    private LocalEtcd etcd;
    private volatile boolean stopping;

    @Override
    public Integer call() throws Exception {
        if (nodes < 1 || nodes > 64) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--nodes must be 1-64, not " + nodes);
        }
        if (port < 1 || port + nodes - 1 > 65_535) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--port " + port + " leaves no room for "
                    + nodes + " nodes");
        }
        PrintWriter out = spec.commandLine().getOut();
        Path root = dir.toAbsolutePath().normalize();
        if (fresh) {
            FileTrees.deleteQuietly(root);
        }
        Files.createDirectories(root);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopAll(out);
            stopped.countDown();
        }, "thaw-cluster-shutdown"));
        Secrets secrets = Secrets.in(root);
        etcd = LocalEtcd.builder().dataDir(root.resolve("etcd")).build();
        say(out, "etcd on " + etcd.clientEndpoint() + " (log " + etcd.logFile() + ")");
        String s3 = startS3(root, secrets);
        say(out, "S3 server on " + s3 + " (objects in " + root.resolve("s3") + ")");
        List<String> urls = new ArrayList<>();
        for (int i = 1; i <= nodes; i++) {
            urls.add(startNode(root, i, s3, secrets, out));
        }
        dev.thaw.bench.TextTable table = dev.thaw.bench.TextTable.leftAligned("NODE", "API", "LOG");
        for (int i = 1; i <= nodes; i++) {
            table.row("node-" + i, urls.get(i - 1), root.resolve("node-" + i + ".log").toString());
        }
        out.print(table.render());
        say(out, "cluster up: " + nodes + " nodes; the thaw CLI reaches node-1 by default (--url for another); API token "
                + secrets.apiToken() + "; press Ctrl-C to stop them all");
        watchNodes(out);
        stopped.await();
        return 0;
    }

    private static void say(PrintWriter out, String line) {
        out.println(line);
        out.flush();
    }

    /** The secrets every node of the cluster shares, as owner-only files. */
    record Secrets(Path apiToken, Path awsCredentials, Path storeSecret, Path transferKey, String s3Access,
                   String s3Secret) {
        static Secrets in(Path root) throws IOException {
            Path dir = root.resolve("secrets");
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            Path token = Path.of(".thaw", "data", "api-token").toAbsolutePath();
            Files.createDirectories(token.getParent());
            once(token, (text(32) + "\n").getBytes(StandardCharsets.UTF_8));
            Path aws = dir.resolve("aws-credentials");
            once(aws, ("[thaw]\naws_access_key_id = AKTHAW" + text(10).toUpperCase(java.util.Locale.ROOT).replaceAll("[^A-Z0-9]", "Q")
                    + "\naws_secret_access_key = " + text(30) + "\n").getBytes(StandardCharsets.UTF_8));
            Path store = dir.resolve("store.secret");
            once(store, bytes(32));
            Path xdt = dir.resolve("xdt.key");
            once(xdt, (Base64.getEncoder().encodeToString(bytes(32)) + "\n").getBytes(StandardCharsets.US_ASCII));
            Path s3 = dir.resolve("s3-keys");
            once(s3, ("THAWS3" + text(8).replaceAll("[^A-Za-z0-9]", "x") + "\n" + text(30) + "\n")
                    .getBytes(StandardCharsets.UTF_8));
            List<String> keys = Files.readAllLines(s3);
            return new Secrets(token, aws, store, xdt, keys.get(0).strip(), keys.get(1).strip());
        }

        private static void once(Path file, byte[] content) throws IOException {
            if (Files.exists(file)) {
                return;
            }
            Path tmp = Files.createTempFile(file.getParent(), "." + file.getFileName(), ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.write(tmp, content);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }

        private static byte[] bytes(int n) {
            byte[] b = new byte[n];
            RANDOM.nextBytes(b);
            return b;
        }

        private static String text(int n) {
            return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes(n));
        }
    }

    private String startS3(Path root, Secrets secrets) throws IOException, InterruptedException {
        Path log = root.resolve("s3.log");
        Process p = start(List.of("s3-server", "--dir", root.resolve("s3").toString(), "--bucket", "thaw-cluster",
                "--exit-with-stdin"), log, secrets);
        return awaitLine(p, log, S3_LISTENING, "the S3 server");
    }

    private String startNode(Path root, int i, String s3, Secrets secrets, PrintWriter out)
            throws IOException, InterruptedException {
        Path log = root.resolve("node-" + i + ".log");
        List<String> args = new ArrayList<>(List.of("up", "--port", Integer.toString(port + i - 1),
                "--data-dir", root.resolve("node-" + i).toString(), "--node-id", "node-" + i,
                "--cluster", etcd.clientEndpoint().toString(), "--lease-ttl-s", Integer.toString(leaseTtlSeconds),
                "--s3-endpoint", s3, "--s3-bucket", "thaw-cluster",
                "--api-token-file", secrets.apiToken().toString(),
                "--aws-credentials-file", secrets.awsCredentials().toString(),
                "--store-secret-file", secrets.storeSecret().toString(),
                "--xdt-key-file", secrets.transferKey().toString(),
                "--exit-with-stdin"));
        args.addAll(nodeOptions);
        Process p = start(args, log, secrets);
        say(out, "starting node-" + i + " on 127.0.0.1:" + (port + i - 1) + "…");
        return awaitLine(p, log, LISTENING, "node-" + i);
    }

    /** Starts {@code thaw ARGS} as this process was started (same JVM, same JAR, same system properties). */
    private Process start(List<String> args, Path log, Secrets secrets) throws IOException {
        List<String> cmd = new ArrayList<>(self());
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
        Map<String, String> env = pb.environment();
        env.put("THAW_S3_ACCESS_KEY", secrets.s3Access());
        env.put("THAW_S3_SECRET_KEY", secrets.s3Secret());
        env.remove("THAW_TOKEN");
        Process p = pb.start(); // its stdin is a pipe this process holds: when this process goes, so does it
        synchronized (processes) {
            processes.add(p);
        }
        return p;
    }

    /** @return the command line that started this JVM, up to the JAR or main class */
    static List<String> self() {
        ProcessHandle.Info info = ProcessHandle.current().info();
        List<String> cmd = new ArrayList<>();
        cmd.add(info.command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        String[] args = info.arguments().orElse(new String[0]);
        for (int i = 0; i < args.length; i++) {
            cmd.add(args[i]);
            if (args[i].equals("-jar") && i + 1 < args.length) {
                cmd.add(args[i + 1]);
                return cmd;
            }
            if (args[i].equals(ThawCli.class.getName())) {
                return cmd;
            }
        }
        throw new IllegalStateException("cannot tell how this JVM was started (no -jar and no " + ThawCli.class.getName()
                + " in its command line): start thaw with the ./thaw script");
    }

    private static String awaitLine(Process p, Path log, Pattern pattern, String what)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + START_WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            String text = Files.exists(log) ? Files.readString(log) : "";
            Matcher m = pattern.matcher(text);
            if (m.find()) {
                return m.group(1);
            }
            if (!p.isAlive()) {
                throw new IllegalStateException(what + " exited with code " + p.exitValue() + " before it listened; its log ("
                        + log + ") ends:\n" + tail(text));
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException(what + " did not listen within " + START_WAIT.toSeconds() + " s; see " + log);
    }

    private static String tail(String text) {
        List<String> lines = text.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
    }

    /** Says when a node exits while the cluster runs (killed, or failed): the others go on. */
    private void watchNodes(PrintWriter out) {
        List<Process> all;
        synchronized (processes) {
            all = List.copyOf(processes);
        }
        for (int i = 1; i < all.size(); i++) {
            Process p = all.get(i);
            int node = i;
            p.onExit().thenAccept(x -> {
                if (!stopping) {
                    say(out, "node-" + node + " exited with code " + x.exitValue() + " (the other nodes go on)");
                }
            });
        }
    }

    /** Stops the nodes (each drains), then the S3 server, then etcd. */
    private void stopAll(PrintWriter out) {
        stopping = true;
        List<Process> all;
        synchronized (processes) {
            all = new ArrayList<>(processes);
            processes.clear();
        }
        if (all.isEmpty() && etcd == null) {
            return;
        }
        say(out, "stopping the cluster: nodes drain their invocations…");
        for (int i = all.size() - 1; i >= 1; i--) {
            all.get(i).destroy();
        }
        for (int i = all.size() - 1; i >= 1; i--) {
            awaitOrKill(all.get(i), Duration.ofSeconds(40));
        }
        if (!all.isEmpty()) {
            all.getFirst().destroy();
            awaitOrKill(all.getFirst(), Duration.ofSeconds(10));
        }
        LocalEtcd e = etcd;
        etcd = null;
        if (e != null) {
            e.close();
        }
        say(out, "cluster stopped");
    }

    private static void awaitOrKill(Process p, Duration wait) {
        try {
            if (!p.waitFor(wait.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException ex) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
