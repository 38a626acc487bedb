package dev.thaw.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.thaw.client.ThawClient;
import dev.thaw.core.ErrorType;
import dev.thaw.core.FileTrees;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.ThawException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code thaw bench run}: deploys the configured functions, runs one sub-run per sweep value (warm-up,
 * then the open or closed loop), writes the per-request CSV, the statistics and the HTML report, and
 * deletes what it deployed.
 *
 * <p>Randomness: one {@link SplittableRandom} seeded from the config; each sub-run splits its own
 * generators (schedule, function mix, payloads, closed-loop clients) in a fixed order, so a seed gives
 * the same schedule, mix and payloads on every machine.
 */
public final class BenchRun {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration COLD_WAIT = Duration.ofSeconds(15);
    private static final Duration SNAPSHOT_WAIT = Duration.ofSeconds(120);

    /** What a run produced. */
    public record Result(Path outputDir, List<RunStats.Row> rows, List<String> failures) {
        public boolean ok() {
            return failures.isEmpty();
        }
    }

    private final RunConfig config;
    private final Path repoRoot;
    private final Path outputDir;
    private final PrintWriter out;
    private final PrintWriter err;
    private final ThawClient control;
    private final String token;
    private final Duration timeout;
    /** The nodes spread chains' hops were started on: their snapshots are theirs to report. */
    private final Map<String, ThawClient> hopNodes = new java.util.concurrent.ConcurrentHashMap<>();
    private final Invoker invoker;
    private final ExecutorService background = Executors.newVirtualThreadPerTaskExecutor();
    private final List<String> failures = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, Fn> functions = new LinkedHashMap<>();
    /** The object store of chains whose payloads travel through it; started on demand. */
    private dev.thaw.store.EmbeddedS3 transfers;
    private Path transfersDir;
    /** Stops the transfer store and removes its directory when the JVM exits before {@link #close}. */
    private CleanupOnExit transfersCleanup;
    /** {@code host:port} the transfer store binds; null: a free loopback port (functions without a sandbox) */
    private String transferStoreAddress;

    /** A configured function and its deployments. */
    private static final class Fn {
        final RunConfig.FunctionSpec spec;
        final List<String> deployments = new ArrayList<>(); // replicas, or the hops of a chain, or the function
        final List<URI> uris = new ArrayList<>();            // what is invoked: one per replica, else one
        final AtomicLong rotation = new AtomicLong();
        byte[] payload = new byte[0];

        Fn(RunConfig.FunctionSpec spec) {
            this.spec = spec;
        }

        int replicas() {
            return uris.size();
        }
    }

    private BenchRun(RunConfig config, Path repoRoot, Path outputDir, PrintWriter out, PrintWriter err, String token) {
        this.config = config;
        this.repoRoot = repoRoot;
        this.outputDir = outputDir;
        this.out = out;
        this.err = err;
        this.timeout = Duration.ofSeconds(config.target().timeoutS());
        this.token = !config.target().thaw() ? null : token != null ? token : apiToken(repoRoot);
        this.control = config.target().thaw() ? ThawClient.create(URI.create(config.target().url()), token, timeout) : null;
        this.invoker = new Invoker(timeout, token);
    }

    /**
     * @return the node's API token as the CLI finds it: {@code THAW_TOKEN}, else the default data
     *     directory's {@code api-token} under the repository root; null when there is none
     */
    static String apiToken(Path repoRoot) {
        String env = System.getenv("THAW_TOKEN");
        if (env != null && !env.isBlank()) {
            return env.strip();
        }
        try {
            return java.nio.file.Files.readString(repoRoot.resolve(".thaw/data/api-token")).strip();
        } catch (java.io.IOException e) {
            return null;
        }
    }

    /**
     * Runs a whole benchmark.
     *
     * @param repoRoot relative JAR paths are resolved against it
     * @param outputDir where requests.csv, stats.txt, stats.csv, report.html and config.json go
     * @param out the statistics table
     * @param err the progress bar and warnings
     */
    public static Result run(RunConfig config, Path repoRoot, Path outputDir, PrintWriter out, PrintWriter err) {
        return run(config, repoRoot, outputDir, out, err, null, null);
    }

    /**
     * As {@link #run(RunConfig, Path, Path, PrintWriter, PrintWriter)}, with the address chains'
     * transfer store binds: sandboxed functions reach it through their node's egress proxy, which
     * the node must allow ({@code thaw up --egress-allow HOST:PORT}).
     *
     * @param transferStore {@code host:port} (an IP literal), or null for a free loopback port
     * @param token the node's API token as the CLI found it (THAW_TOKEN, --token-file, the default data
     *     directory); null to look for it as {@link #apiToken} does
     */
    public static Result run(RunConfig config, Path repoRoot, Path outputDir, PrintWriter out, PrintWriter err,
                             String transferStore, String token) {
        BenchRun run = new BenchRun(config.validate(), repoRoot, outputDir, out, err, token);
        run.transferStoreAddress = transferStore;
        try {
            return run.execute();
        } finally {
            run.close();
        }
    }

    private Result execute() {
        List<RequestRecord> records = new ArrayList<>();
        List<String> sweepLabels = new ArrayList<>();
        try (RunProgress progress = new RunProgress(err)) {
            try {
                prepare();
                SplittableRandom root = new SplittableRandom(config.seedOrDefault());
                List<Double> values = config.sweep() == null ? List.of(Double.NaN) : config.sweep().values();
                for (double value : values) {
                    SplittableRandom rng = root.split();
                    RunConfig sub = Double.isNaN(value) ? config : config.withSweepValue(value);
                    String label = Double.isNaN(value) ? null : RunConfig.label(value);
                    if (label != null) {
                        sweepLabels.add(label);
                    }
                    records.addAll(subRun(sub, label, rng, progress));
                }
            } catch (ThawException e) {
                failures.add(e.type() + ": " + e.getMessage());
            } catch (IllegalStateException | IllegalArgumentException e) {
                failures.add(e.getMessage());
            } finally {
                cleanUp();
            }
        }
        List<RunStats.Row> rows = RunStats.rows(records);
        String table = RunStats.render(config, records, rows);
        out.print(table);
        failures.forEach(f -> out.println("FAILED: " + f));
        RunOutputs.write(outputDir, config, records, rows, table, sweepLabels, failures);
        out.println("wrote " + outputDir.resolve("requests.csv") + ", stats.txt, stats.csv, report.html, config.json");
        out.flush();
        return new Result(outputDir, rows, List.copyOf(failures));
    }

    // ------------------------------------------------------------------ set-up

    private void prepare() {
        String base = config.target().url().replaceAll("/+$", "");
        for (RunConfig.FunctionSpec spec : config.functions()) {
            Fn fn = new Fn(spec);
            if (!config.target().thaw()) {
                fn.deployments.add(spec.name());
                fn.uris.add(URI.create(base + (spec.path() == null ? "" : spec.path())));
            } else if (spec.chain() != null) {
                for (int i = 1; i <= spec.chain().length(); i++) {
                    fn.deployments.add(spec.name() + "-" + i);
                }
                fn.uris.add(invokeUri(base, fn.deployments.getFirst()));
            } else {
                int replicas = spec.cold() == null ? 1 : spec.cold().replicasOrDefault();
                for (int i = 1; i <= replicas; i++) {
                    String name = replicas == 1 ? spec.name() : spec.name() + "-r" + i;
                    fn.deployments.add(name);
                    fn.uris.add(invokeUri(base, name));
                }
            }
            functions.put(spec.name(), fn);
        }
        if (control == null) {
            return;
        }
        for (Fn fn : functions.values()) {
            Path jar = jarOf(fn.spec);
            for (int i = 0; i < fn.deployments.size(); i++) {
                Map<String, String> env = new HashMap<>(fn.spec.env() == null ? Map.of() : fn.spec.env());
                List<String> mayInvoke = null;
                if (fn.spec.chain() != null) {
                    // the chain's functions call the node at THAW_NODE_URL, their own way in to its invoke API
                    env.put("TRANSFER", fn.spec.chain().transferOrDefault());
                    if (fn.spec.chain().viaStore()) {
                        env.put("TRANSFER_URL", transferBucket());
                    }
                    if (i + 1 < fn.deployments.size()) {
                        env.put("NEXT_FUNCTION", fn.deployments.get(i + 1));
                        mayInvoke = List.of(fn.deployments.get(i + 1));
                    }
                }
                String name = fn.deployments.get(i);
                err.println("deploying " + name + (fn.spec.snapshotsOrDefault() ? "" : " (snapshots off)"));
                err.flush();
                control.deploy(new FunctionManifest(name, fn.spec.handler(), null, fn.spec.memoryMb(),
                        fn.spec.timeoutMs(), env, fn.spec.maxInstances(), fn.spec.snapshotsOrDefault())
                        .withMayInvoke(mayInvoke), jar);
            }
        }
        spreadChains();
    }

    /** How long the front door may take to see a hop's first instance where it was started. */
    private static final Duration SPREAD_VISIBLE = Duration.ofSeconds(15);

    /**
     * Chains with {@code spread}: each hop after the first gets its first instance on another node
     * than the front door's, by one call of that hop alone ({@code remaining: 0}) through that
     * node's own front door. Placement prefers a node with an idle warm instance, so the chain's
     * calls then find each hop where it was started; this waits until the front door's view of the
     * cluster shows them there.
     */
    private void spreadChains() {
        List<Fn> spread = functions.values().stream()
                .filter(f -> f.spec.chain() != null && f.spec.chain().spreadOrDefault() && f.deployments.size() > 1).toList();
        if (spread.isEmpty() || control == null) {
            return;
        }
        JsonNode cluster;
        try {
            cluster = control.clusterNodes();
        } catch (ThawException e) {
            throw new IllegalArgumentException("chain.spread needs a cluster's front door as the target: " + e.getMessage());
        }
        String self = cluster.path("self").asText();
        List<JsonNode> others = new ArrayList<>();
        cluster.path("nodes").forEach(n -> {
            if (!n.path("id").asText().equals(self) && n.path("state").asText().equals("active")) {
                others.add(n);
            }
        });
        if (others.isEmpty()) {
            throw new IllegalArgumentException("chain.spread needs a cluster of two nodes or more: " + self
                    + " sees no other active node");
        }
        Map<String, String> placedOn = new java.util.LinkedHashMap<>();
        for (Fn fn : spread) {
            for (int i = 1; i < fn.deployments.size(); i++) {
                JsonNode node = others.get((i - 1) % others.size());
                String hop = fn.deployments.get(i);
                startOn(hop, node.path("id").asText(), node.path("address").asText().replaceAll("/+$", ""));
                placedOn.put(hop, node.path("id").asText());
            }
        }
        placedOn.forEach((hop, node) -> err.println("spread: " + hop + " runs on " + node));
        err.flush();
    }

    private static final int SPREAD_TRIES = 5;

    /**
     * Starts {@code hop}'s first instance on {@code nodeId} by a call through that node's front door,
     * and waits until the front door of the run sees it idle there. That node's placement may still
     * send the call elsewhere (to a less loaded node while its own instances take their snapshots):
     * the instance is then evicted and the call made again, once the nodes have settled.
     */
    private void startOn(String hop, String nodeId, String address) {
        byte[] alone = "{\"remaining\":0,\"payloadBytes\":0}".getBytes(StandardCharsets.UTF_8);
        for (int attempt = 1; ; attempt++) {
            Invoker.Answer a = invoker.post(invokeUri(address, hop), alone);
            if (a.status() != 200) {
                throw new IllegalStateException("chain.spread: starting " + hop + " on " + nodeId + " answered "
                        + a.status() + " " + a.error());
            }
            if (a.node() == null || a.node().equals(nodeId)) {
                hopNodes.computeIfAbsent(hop, h -> ThawClient.create(URI.create(address), token, timeout));
                long deadline = System.nanoTime() + SPREAD_VISIBLE.toNanos();
                while (!placementSees(hop, nodeId)) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("chain.spread: the front door did not see " + hop + " on " + nodeId
                                + " within " + SPREAD_VISIBLE.toSeconds() + " s");
                    }
                    sleepUntil(System.nanoTime() + 200_000_000L);
                }
                return;
            }
            if (attempt == SPREAD_TRIES) {
                throw new IllegalStateException("chain.spread: " + hop + " ran on " + a.node() + ", not " + nodeId + ", "
                        + SPREAD_TRIES + " times");
            }
            control.evict(hop);
            sleepUntil(System.nanoTime() + 2_000_000_000L); // the nodes' snapshots and load settle
        }
    }

    /** @return whether the front door's view of the cluster has an idle instance of {@code hop} on {@code nodeId} */
    private boolean placementSees(String hop, String nodeId) {
        for (JsonNode n : control.clusterNodes().path("nodes")) {
            if (!n.path("id").asText().equals(nodeId)) {
                continue;
            }
            var idle = n.path("idle").fields();
            while (idle.hasNext()) {
                var f = idle.next();
                if (f.getKey().startsWith(hop + "@") && f.getValue().asInt() > 0) {
                    return true;
                }
            }
        }
        return false;
    }

    private static URI invokeUri(String base, String deployment) {
        return URI.create(base + "/functions/" + URLEncoder.encode(deployment, StandardCharsets.UTF_8) + "/invoke");
    }

    private Path jarOf(RunConfig.FunctionSpec spec) {
        Path jar = Path.of(spec.jar());
        if (!jar.isAbsolute()) {
            jar = repoRoot.resolve(jar);
        }
        if (!Files.isRegularFile(jar)) {
            throw new IllegalArgumentException("function " + spec.name() + ": JAR " + jar + " does not exist"
                    + " (build it first, e.g. mvn -pl workloads,examples -am package -DskipTests)");
        }
        return jar;
    }

    // ------------------------------------------------------------------ one sub-run

    private List<RequestRecord> subRun(RunConfig sub, String sweep, SplittableRandom rng, RunProgress progress) {
        SplittableRandom scheduleRng = rng.split();
        SplittableRandom mixRng = rng.split();
        SplittableRandom payloadRng = rng.split();
        for (RunConfig.FunctionSpec spec : sub.functions()) {
            functions.get(spec.name()).payload = payload(spec, payloadRng);
        }
        String phase = sweep == null ? "" : config.sweep().parameter() + "=" + sweep + " ";
        List<RequestRecord> records = new ArrayList<>();
        AtomicInteger seq = new AtomicInteger();
        long t0 = System.nanoTime();
        int warmups = functions.values().stream().mapToInt(f -> f.spec.warmupOrDefault() * f.replicas()).sum();
        progress.phase(phase + "warm-up", warmups);
        for (Fn fn : functions.values()) {
            for (int r = 0; r < fn.replicas(); r++) {
                for (int i = 0; i < fn.spec.warmupOrDefault(); i++) {
                    long now = System.nanoTime();
                    records.add(record(fn, r, invoker.post(fn.uris.get(r), fn.payload), now, t0, seq.incrementAndGet(),
                            sweep, true));
                    progress.done();
                }
            }
        }
        progress.finish();
        if (control != null) {
            for (Fn fn : functions.values()) {
                if (fn.spec.snapshotsOrDefault()) {
                    fn.deployments.forEach(this::awaitSnapshotDecided);
                }
                if (fn.spec.coldSteered()) {
                    fn.deployments.forEach(this::makeCold);
                }
            }
        }
        List<Fn> mix = sub.functions().stream().map(s -> functions.get(s.name())).toList();
        double[] cumulative = new double[mix.size()];
        double sum = 0;
        for (int i = 0; i < mix.size(); i++) {
            sum += mix.get(i).spec.weightOrDefault();
            cumulative[i] = sum;
        }
        RunConfig.Load load = sub.load();
        List<RequestRecord> measured = load.open()
                ? openLoop(load, mix, cumulative, scheduleRng, mixRng, seq, sweep, progress, phase)
                : closedLoop(load, mix, cumulative, mixRng, seq, sweep, progress, phase);
        progress.finish();
        records.addAll(measured);
        return records;
    }

    private List<RequestRecord> openLoop(RunConfig.Load load, List<Fn> mix, double[] cumulative,
                                         SplittableRandom scheduleRng, SplittableRandom mixRng, AtomicInteger seq,
                                         String sweep, RunProgress progress, String phase) {
        int count = load.requests() == null ? -1 : load.requests();
        long duration = load.durationS() == null ? 0 : Math.round(load.durationS() * 1e9);
        long[] offsets = ArrivalSchedule.offsets(load.arrival(), count, duration, scheduleRng);
        int[] choice = new int[offsets.length];
        for (int i = 0; i < choice.length; i++) {
            choice[i] = load.rotate() ? i % mix.size() : pick(cumulative, mixRng);
        }
        RequestRecord[] results = new RequestRecord[offsets.length];
        Semaphore slots = new Semaphore(load.concurrencyOrDefault());
        int firstSeq = seq.get() + 1;
        seq.addAndGet(offsets.length);
        progress.phase(phase + "open loop", offsets.length);
        long t0 = System.nanoTime() + 5_000_000; // a moment to get the first send ready
        try (ExecutorService senders = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < offsets.length; i++) {
                long intended = t0 + offsets[i];
                sleepUntil(intended);
                // A full pool blocks the scheduler, not the clock: the wait shows up in latency (from intended).
                slots.acquireUninterruptibly();
                int n = i;
                Fn fn = mix.get(choice[i]);
                senders.submit(() -> {
                    try {
                        int r = fn.replicas() == 1 ? 0 : (int) (fn.rotation.getAndIncrement() % fn.replicas());
                        Invoker.Answer answer = invoker.post(fn.uris.get(r), fn.payload);
                        results[n] = record(fn, r, answer, intended, t0, firstSeq + n, sweep, false);
                        afterCall(fn, r);
                    } finally {
                        slots.release();
                        progress.done();
                    }
                });
            }
        }
        return List.of(results);
    }

    private List<RequestRecord> closedLoop(RunConfig.Load load, List<Fn> mix, double[] cumulative,
                                           SplittableRandom mixRng, AtomicInteger seq, String sweep,
                                           RunProgress progress, String phase) {
        int count = load.requests() == null ? Integer.MAX_VALUE : load.requests();
        int firstSeq = seq.get() + 1;
        AtomicInteger next = new AtomicInteger();
        long t0 = System.nanoTime();
        long deadline = load.durationS() == null ? Long.MAX_VALUE : t0 + Math.round(load.durationS() * 1e9);
        List<RequestRecord> results = Collections.synchronizedList(new ArrayList<>());
        progress.phase(phase + "closed loop x" + load.concurrencyOrDefault(), load.requests() == null ? -1 : count);
        List<SplittableRandom> clientRngs = new ArrayList<>();
        for (int c = 0; c < load.concurrencyOrDefault(); c++) {
            clientRngs.add(mixRng.split());
        }
        RunConfig.Arrival think = load.arrival();
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            for (SplittableRandom r : clientRngs) {
                clients.submit(() -> {
                    while (System.nanoTime() < deadline) {
                        int n = next.getAndIncrement();
                        if (n >= count) {
                            return;
                        }
                        Fn fn = mix.get(load.rotate() ? n % mix.size() : pick(cumulative, r));
                        if (think != null) {
                            double ms = "exponential".equals(think.type())
                                    ? ArrivalSchedule.exponential(r, think.iatMs()) : think.iatMs();
                            sleepUntil(System.nanoTime() + Math.round(ms * 1e6));
                        }
                        int replica = fn.replicas() == 1 ? 0 : (int) (fn.rotation.getAndIncrement() % fn.replicas());
                        if (fn.spec.cold() != null && fn.spec.cold().evictOrDefault()) {
                            fn.deployments.forEach(this::makeCold); // untimed: before the intended send time
                        }
                        long intended = System.nanoTime();
                        Invoker.Answer answer = invoker.post(fn.uris.get(replica), fn.payload);
                        results.add(record(fn, replica, answer, intended, t0, firstSeq + n, sweep, false));
                        afterCall(fn, replica);
                        progress.done();
                    }
                });
            }
        }
        seq.addAndGet(next.get());
        List<RequestRecord> sorted = new ArrayList<>(results);
        sorted.sort(java.util.Comparator.comparingInt(RequestRecord::seq));
        return sorted;
    }

    /** Replicas: evict the one just used in the background, so the rotation comes back to a cold copy. */
    private void afterCall(Fn fn, int replica) {
        if (control != null && fn.replicas() > 1) {
            String name = fn.deployments.get(replica);
            background.submit(() -> {
                try {
                    makeCold(name);
                } catch (RuntimeException e) {
                    err.println("warning: could not evict " + name + ": " + e.getMessage());
                }
            });
        }
    }

    private static RequestRecord record(Fn fn, int replica, Invoker.Answer a, long intended, long t0, int seq,
                                        String sweep, boolean warmup) {
        String deployment = fn.deployments.get(Math.min(replica, fn.deployments.size() - 1));
        return new RequestRecord(seq, sweep, fn.spec.name(), deployment, warmup, (intended - t0) / 1e6,
                (a.sentNanos() - t0) / 1e6, (a.endNanos() - t0) / 1e6, a.status(), a.startKind(), a.initMs(),
                a.restoreMs(), a.durationMs(), a.error());
    }

    static int pick(double[] cumulative, SplittableRandom random) {
        double x = random.nextDouble() * cumulative[cumulative.length - 1];
        for (int i = 0; i < cumulative.length; i++) {
            if (x < cumulative[i]) {
                return i;
            }
        }
        return cumulative.length - 1;
    }

    /** @return the payload: the configured JSON, plus the chain's fields, plus a generated string field */
    static byte[] payload(RunConfig.FunctionSpec spec, SplittableRandom random) {
        if (spec.chain() == null && spec.payloadGenerator() == null) {
            return spec.payloadOrNull() == null ? new byte[0] : spec.payloadOrNull().toString().getBytes(StandardCharsets.UTF_8);
        }
        ObjectNode node = spec.payloadOrNull() == null ? JSON.createObjectNode() : (ObjectNode) spec.payloadOrNull().deepCopy();
        if (spec.chain() != null) {
            node.put("remaining", spec.chain().length() - 1).put("payloadBytes", spec.chain().payloadBytes());
        }
        if (spec.payloadGenerator() != null) {
            node.put(spec.payloadGenerator().fieldOrDefault(), randomText(spec.payloadGenerator().sizeBytes(), random));
        }
        return node.toString().getBytes(StandardCharsets.UTF_8);
    }

    static String randomText(int size, SplittableRandom random) {
        char[] chars = new char[size];
        String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        for (int i = 0; i < size; i++) {
            chars[i] = alphabet.charAt(random.nextInt(alphabet.length()));
        }
        return new String(chars);
    }

    static void sleepUntil(long nanoTime) {
        long left;
        while ((left = nanoTime - System.nanoTime()) > 0) {
            LockSupport.parkNanos(left);
        }
    }

    // ------------------------------------------------------------------ node control

    /** See {@link ColdSteering#makeCold}. */
    private void makeCold(String name) {
        ColdSteering.makeCold(control, name, COLD_WAIT);
    }

    /** After the priming boot the node takes the snapshot in the background: wait until it says how it went. */
    private void awaitSnapshotDecided(String name) {
        long deadline = System.nanoTime() + SNAPSHOT_WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            // a hop started on another node took its snapshot there, and that node reports it
            FunctionInfo.SnapshotInfo s = hopNodes.getOrDefault(name, control).describe(name).snapshot();
            String state = s == null ? "none" : s.state();
            if (!"none".equals(state)) {
                if (!"ready".equals(state) && !"disabled".equals(state)) {
                    err.println("warning: " + name + " snapshot " + state + (s.reason() == null ? "" : ": " + s.reason()));
                }
                return;
            }
            LockSupport.parkNanos(100_000_000);
        }
        err.println("warning: " + name + ": no snapshot after " + SNAPSHOT_WAIT.toSeconds() + " s");
    }

    private void cleanUp() {
        background.shutdown();
        try {
            background.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (control == null || !config.cleanupOrDefault()) {
            return;
        }
        for (Fn fn : functions.values()) {
            for (String name : fn.deployments) {
                try {
                    control.delete(name);
                } catch (ThawException e) {
                    if (e.type() != ErrorType.FunctionNotFound) {
                        err.println("warning: could not delete " + name + ": " + e.getMessage());
                    }
                }
            }
        }
    }

    /** @return the URL of the bucket chain payloads go through, starting the embedded S3 server once */
    private String transferBucket() {
        if (transfers == null) {
            try {
                transfersDir = java.nio.file.Files.createTempDirectory("thaw-bench-transfers-");
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException("cannot create a directory for the transfer store", e);
            }
            if (transferStoreAddress == null) {
                transfers = dev.thaw.store.EmbeddedS3.startAnonymous(transfersDir);
            } else {
                int colon = transferStoreAddress.lastIndexOf(':');
                transfers = dev.thaw.store.EmbeddedS3.startAnonymous(transfersDir,
                        transferStoreAddress.substring(0, colon).replaceAll("^\\[|\\]$", ""),
                        Integer.parseInt(transferStoreAddress.substring(colon + 1)));
            }
            Path dir = transfersDir;
            dev.thaw.store.EmbeddedS3 server = transfers;
            transfersCleanup = new CleanupOnExit("thaw-bench-transfers-cleanup", () -> {
                server.close();
                FileTrees.deleteQuietly(dir);
            });
            transfers.createBucket("transfers");
            err.println("transfer store (embedded S3, unsigned) at " + transfers.endpoint());
        }
        return transfers.endpoint() + "/transfers";
    }

    private void close() {
        if (transfers != null) {
            transfers.close();
            FileTrees.deleteQuietly(transfersDir);
            transfersCleanup.close();
        }
        background.shutdownNow();
        invoker.close();
        hopNodes.values().forEach(ThawClient::close);
        if (control != null) {
            control.close();
        }
    }
}
