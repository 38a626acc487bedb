package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.thaw.core.FileTrees;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The README's quick start, run as a newcomer types it: each line of its code block, from the
 * repository root, through {@code ./thaw}, with the default port (8080) and the default data
 * directory ({@code .thaw/data}). The block is read from README.md, so the README cannot drift from
 * what works.
 *
 * <p>{@code ./thaw} builds when sources are newer than {@code .thaw/lib/*.jar}; the reactor has just
 * built the runtime and the CLI, so they are staged there first, as {@code ./thaw} publishes them,
 * and a {@code mvn} on the commands' PATH that fails makes sure no nested build runs. JARs staged
 * anew have no AOT cache, so {@code ./thaw up} makes one first (a training run of a node on
 * another port), as after a newcomer's first build, and starts the node from it. The node
 * ({@code ./thaw up}) runs in the background with its output in {@code target/readme-node.log}; it
 * is stopped with SIGTERM at the end, and must exit leaving no instance behind. The test's own
 * function, hello, leaves {@code .thaw/data} as it was: a hello deployed there already makes the
 * test fail rather than replace it, and what remains of the test's hello (its version counter and
 * log) is removed, or put back as it was.
 */
class ReadmeIT {
    private static final int PORT = 8080;
    private static final Duration COMMAND_TIMEOUT = Duration.ofMinutes(5);
    private static final Path REPO = Path.of(System.getProperty("thaw.repo", "..")).toAbsolutePath().normalize();
    private static final Path LIB = REPO.resolve(".thaw/lib");
    private static final Path DATA = REPO.resolve(".thaw/data");
    private static final Path TARGET = Path.of("target").toAbsolutePath();

    /** One command of the quick start and what it printed. */
    private record Ran(String line, int exit, String out, String err) {
        String verb() {
            String[] words = line.trim().split("\\s+");
            return words.length > 1 ? words[1] : "";
        }

        @Override
        public String toString() {
            return "$ " + line + "\n(exit " + exit + ")\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    /** @return the lines of the code block under README.md's "### Quick start" heading */
    static List<String> quickStart(Path readme) throws IOException {
        List<String> lines = Files.readAllLines(readme, StandardCharsets.UTF_8);
        int heading = lines.indexOf("### Quick start");
        assertThat(heading).as("README.md has a '### Quick start' section").isNotNegative();
        int open = heading + 1;
        while (open < lines.size() && !lines.get(open).startsWith("```")) {
            open++;
        }
        List<String> block = new ArrayList<>();
        for (int i = open + 1; i < lines.size() && !lines.get(i).startsWith("```"); i++) {
            if (!lines.get(i).isBlank()) {
                block.add(lines.get(i));
            }
        }
        return block;
    }

    @Test
    void theQuickStartRunsAsWritten() throws Exception {
        List<String> block = quickStart(REPO.resolve("README.md"));
        assertThat(block).as("the quick start block").isNotEmpty();
        assertThat(block.getFirst()).as("the quick start starts the node").startsWith("./thaw up");
        assertThat(block).allSatisfy(l -> assertThat(l).as("every line is a ./thaw command, without [optional] parts")
                .startsWith("./thaw ").doesNotContain("["));
        List<String> verbs = block.stream().map(l -> l.trim().split("\\s+")[1]).toList();
        assertThat(verbs).as("the newcomer's path: deploy, invoke, list, describe, logs, evict, a restore, delete")
                .containsSubsequence("up", "deploy", "invoke", "evict", "invoke", "delete")
                .contains("list", "describe", "logs");

        portIsFree();
        Path before = keepExistingHello();
        stageJars();
        Path noMaven = fakeMaven();
        Path nodeLog = TARGET.resolve("readme-node.log");
        Process up = start(block.getFirst(), noMaven, nodeLog);
        List<ProcessHandle> tree = new ArrayList<>();
        List<Ran> ran = new ArrayList<>();
        try {
            boolean snapshots = awaitHealthy(up, nodeLog);
            if (snapshots) {
                boolean preload = preloadBuilt();
                assertThat(Files.readString(nodeLog)).as("what the node says of CRIU started ahead (its preload library %s)",
                        preload ? "built" : "not built").contains(preload
                        ? "CRIU is started ahead of sandboxed restores" : "CRIU is not started ahead of restores: ");
            }
            up.descendants().forEach(tree::add);
            startedFromItsAotCache(up, nodeLog);
            for (String line : block.subList(1, block.size())) {
                Ran r = run(line, noMaven);
                ran.add(r);
                assertThat(r.exit()).as("%s%n%nnode log:%n%s", r, tail(nodeLog)).isZero();
                assertThat(r.out() + r.err()).as("%s", r).doesNotContain("[aot");
                check(r, ran, snapshots, nodeLog);
            }
            Ran list = run("JAVA_TOOL_OPTIONS=-Xlog:aot=info:stderr ./thaw list", noMaven);
            assertThat(list.err()).as("the cache a command that runs no node starts from: %s", list)
                    .contains("Opened AOT cache " + LIB.resolve("thaw-client.aot") + ".");
        } finally {
            stop(up, tree, nodeLog);
            restoreHello(before);
        }
    }

    /**
     * ./thaw up made the node's AOT cache for the JARs just staged (a training run) and started the node
     * from it, and made the cache of the commands that run no node.
     */
    private static void startedFromItsAotCache(Process up, Path nodeLog) throws IOException {
        Path aot = LIB.resolve("thaw-cli.aot");
        String log = Files.readString(nodeLog);
        assertThat(log).as("what ./thaw up says of the AOT cache it made").contains("node-aot-cache: " + aot + " (");
        assertThat(Files.getLastModifiedTime(aot)).as("a cache made after the JAR was staged")
                .isGreaterThan(Files.getLastModifiedTime(LIB.resolve("thaw-cli.jar")));
        String node = nodeProcess(up).flatMap(h -> h.info().commandLine()).orElse("(no node process)");
        assertThat(node).as("the node's command line").contains("-XX:AOTCache=" + aot);
        assertThat(log).as("the JVM read its cache without complaint").doesNotContain("[error][aot");
        assertThat(log).as("what ./thaw up says of the other commands' cache")
                .contains("the other commands' " + LIB.resolve("thaw-client.aot") + " (");
    }

    /** What each command must have said, beyond exiting with 0. */
    private static void check(Ran r, List<Ran> ran, boolean snapshots, Path nodeLog) throws IOException {
        String context = r + "\n\nnode log:\n" + tail(nodeLog);
        switch (r.verb()) {
            case "deploy" -> assertThat(r.out()).as(context).startsWith("deployed hello version ");
            case "invoke" -> {
                assertThat(r.out()).as(context + "\n(stdout holds the answer alone)").isEqualTo("{\"message\":\"Hello, Ada!\"}\n");
                boolean afterEvict = ran.stream().anyMatch(x -> x.verb().equals("evict"));
                String expected = afterEvict && snapshots ? "restore" : "boot";
                assertThat(r.err()).as(context).containsPattern("(?m)^start: +" + expected + "$");
            }
            case "list" -> assertThat(r.out()).as(context).contains("hello");
            case "describe" -> assertThat(r.out()).as(context).contains("\"name\"").contains("hello");
            case "logs" -> assertThat(r.out()).as(context).contains("REPORT RequestId:");
            case "evict" -> assertThat(r.out()).as(context).startsWith("evicted 1 instance of hello");
            case "delete" -> assertThat(r.out()).as(context).startsWith("deleted hello");
            default -> { }
        }
    }

    private static void portIsFree() {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), PORT));
        } catch (IOException e) {
            fail("port " + PORT + " on 127.0.0.1 is taken (" + e.getMessage() + "): the README's quick start runs on the"
                    + " default port as written. Stop what listens there (another ./thaw up?) and run the test again.");
        }
    }

    /**
     * A hello the user deployed is not the test's to replace: the test fails instead. What a deleted
     * hello left (its version counter, its log) is copied aside and put back at the end.
     *
     * @return the copy, or null when there was no hello directory
     */
    private static Path keepExistingHello() throws IOException {
        Path hello = DATA.resolve("functions/hello");
        if (!Files.isDirectory(hello)) {
            return null;
        }
        try (Stream<Path> versions = Files.list(hello)) {
            Optional<Path> deployed = versions.filter(p -> p.getFileName().toString().matches("v\\d+")).findFirst();
            if (deployed.isPresent()) {
                fail("a function 'hello' is deployed in " + DATA + " (" + deployed.get() + "): the README's quick start"
                        + " would replace and then delete it. Delete it (./thaw up, then ./thaw delete hello) or move "
                        + DATA + " away, and run the test again.");
            }
        }
        Path copy = Files.createTempDirectory(TARGET, "readme-hello-before-");
        copyTree(hello, copy.resolve("hello"));
        return copy;
    }

    private static void restoreHello(Path before) throws IOException {
        Path hello = DATA.resolve("functions/hello");
        FileTrees.deleteQuietly(hello);
        if (before != null) {
            copyTree(before.resolve("hello"), hello);
            FileTrees.deleteQuietly(before);
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : all.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }

    /** The reactor's runtime and CLI into .thaw/lib, as ./thaw publishes them (a copy, then a rename). */
    private static void stageJars() throws IOException {
        Files.createDirectories(LIB);
        for (String jar : List.of("thaw-runtime.jar", "thaw-cli.jar")) {
            Path built = TestNode.FUNCTIONS.resolve(jar);
            assertThat(built).as("built by the reactor").isRegularFile();
            Path tmp = LIB.resolve("." + jar + ".tmp");
            Files.copy(built, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.setLastModifiedTime(tmp, FileTime.fromMillis(System.currentTimeMillis()));
            Files.move(tmp, LIB.resolve(jar), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
    }

    /** A directory whose {@code mvn} fails loudly, first on the commands' PATH: ./thaw must not build here. */
    private static Path fakeMaven() throws IOException {
        Path dir = Files.createDirectories(TARGET.resolve("readme-no-maven"));
        Path mvn = dir.resolve("mvn");
        Files.writeString(mvn, "#!/bin/sh\necho \"ReadmeIT: ./thaw tried to build (mvn $*): sources are newer than"
                + " .thaw/lib/*.jar, which the test staged from the reactor\" >&2\nexit 97\n");
        mvn.toFile().setExecutable(true);
        return dir;
    }

    private static ProcessBuilder shell(String line, Path noMaven) {
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", line).directory(REPO.toFile());
        Map<String, String> env = pb.environment();
        env.remove("THAW_URL"); // the README's commands use the default URL
        env.put("PATH", noMaven + ":" + env.getOrDefault("PATH", "/usr/bin:/bin"));
        return pb;
    }

    private static Process start(String line, Path noMaven, Path log) throws IOException {
        Files.deleteIfExists(log);
        return shell(line, noMaven).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private static Ran run(String line, Path noMaven) throws IOException, InterruptedException {
        Path out = Files.createTempFile(TARGET, "readme-out-", ".txt");
        Path err = Files.createTempFile(TARGET, "readme-err-", ".txt");
        try {
            Process p = shell(line, noMaven).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                fail("'" + line + "' did not finish within " + COMMAND_TIMEOUT);
            }
            return new Ran(line, p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** @return whether scripts/install-criu.sh built the library that lets CRIU start ahead (it needs gcc) */
    private static boolean preloadBuilt() throws IOException {
        Path lib = REPO.resolve(".thaw/criu/lib");
        if (!Files.isDirectory(lib)) {
            return false;
        }
        try (Stream<Path> files = Files.list(lib)) {
            return files.anyMatch(f -> f.getFileName().toString().matches("thaw-criu-preload-[0-9a-f]+\\.so"));
        }
    }

    /** @return whether the node says snapshots are on (then the run after evict is a restore) */
    private static boolean awaitHealthy(Process up, Path log) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        try (http) {
            while (System.nanoTime() < deadline) {
                if (!up.isAlive()) {
                    fail("./thaw up exited with " + up.exitValue() + " before answering /healthz:\n" + tail(log));
                }
                Path token = DATA.resolve("api-token"); // written at the node's first start: with it, /healthz answers in full
                if (!Files.exists(token)) {
                    Thread.sleep(200);
                    continue;
                }
                HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + PORT + "/healthz"))
                        .header("Authorization", "Bearer " + Files.readString(token).strip())
                        .timeout(Duration.ofSeconds(5)).build();
                try {
                    HttpResponse<String> r = http.send(health, HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() == 200) {
                        return dev.thaw.core.Json.mapper().readTree(r.body()).path("snapshots").path("enabled").asBoolean();
                    }
                } catch (IOException e) {
                    // not listening yet
                }
                Thread.sleep(200);
            }
        }
        fail("./thaw up did not answer GET /healthz on port " + PORT + " within 3 minutes:\n" + tail(log));
        return false;
    }

    /** SIGTERM to the node's JVM; it must exit, and so must every process it started. */
    private static void stop(Process up, List<ProcessHandle> tree, Path log) throws Exception {
        Map<Long, String> started = new LinkedHashMap<>();
        up.descendants().forEach(h -> started.put(h.pid(), h.info().commandLine().orElse("?")));
        tree.forEach(h -> started.putIfAbsent(h.pid(), h.info().commandLine().orElse("?")));
        ProcessHandle node = nodeProcess(up).orElse(up.toHandle());
        node.destroy(); // SIGTERM
        boolean exited = node.onExit().completeOnTimeout(null, 60, TimeUnit.SECONDS).get() != null && !node.isAlive();
        boolean shellExited = up.waitFor(10, TimeUnit.SECONDS);
        List<Long> left = started.keySet().stream().filter(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive)
                .orElse(false)).toList();
        List<Long> inData = Files.isDirectory(DATA) ? TestNode.processesUnder(DATA) : List.of();
        if (!exited || !shellExited) {
            Stream.concat(Stream.of(node), up.descendants()).forEach(ProcessHandle::destroyForcibly);
        }
        assertThat(exited && shellExited).as("the node exits on SIGTERM; its log:%n%s", tail(log)).isTrue();
        assertThat(left).as("processes the node started, still running: %s", started).isEmpty();
        assertThat(inData).as("instance processes left in %s", DATA).isEmpty();
        assertThat(Files.readString(log)).as("the node's output").contains("thaw node listening on http://127.0.0.1:" + PORT);
    }

    /** ./thaw execs java, and bash -c execs a lone command: the node is the process started, or its child. */
    private static java.util.Optional<ProcessHandle> nodeProcess(Process up) {
        return Stream.concat(Stream.of(up.toHandle()), up.descendants())
                .filter(h -> h.info().commandLine().orElse("").contains("thaw-cli.jar")).findFirst();
    }

    private static String tail(Path log) throws IOException {
        if (!Files.exists(log)) {
            return "(no output)";
        }
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }
}
