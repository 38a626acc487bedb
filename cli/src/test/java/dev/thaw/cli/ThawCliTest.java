package dev.thaw.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.client.FakeNode;
import dev.thaw.client.ThawClient;
import dev.thaw.core.Json;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ThawCliTest {
    static final String LAMBDA_INVOKE = "/2015-03-31/functions/hello/invocations";
    static final String INFO = """
            {"name":"hello","version":3,"handler":"dev.thaw.examples.hello.Hello::handle","runtime":"java",
             "memoryMb":512,"timeoutMs":30000,"environmentKeys":["GREETING"],"maxInstances":8,"snapshotsEnabled":true,
             "codeSha256":"ab","codeSizeBytes":4711,"deployedAt":"2026-11-22T21:00:00Z",
             "snapshot":{"state":"ready","restores":4,"restoreFailures":0},
             "instances":{"starting":0,"idle":1,"busy":2,"queued":0}}""";

    FakeNode node;
    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();
    final List<URI> urls = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        node = new FakeNode();
    }

    @AfterEach
    void stop() {
        node.close();
    }

    /** Progress as a test sets it; by default never shown (its tests set their own). */
    Progress.Settings progress = new Progress.Settings(false, Duration.ofHours(1), Duration.ofHours(1), Duration.ofHours(1));

    /** Runs the command line as {@code main} builds it: only the subcommand named first, when one is. */
    int thaw(String... args) {
        CommandLine cmd = ThawCli.commandLineFor(args, (url, token) -> {
            urls.add(url);
            return ThawClient.create(url);
        }, progress);
        // Buffered and never flushed here, as System.out would be at System.exit: output must be flushed by the CLI.
        cmd.setOut(new PrintWriter(new BufferedWriter(out)));
        cmd.setErr(new PrintWriter(new BufferedWriter(err)));
        return cmd.execute(args);
    }

    /** @return {@code args} with the fake node's {@code --url} after the subcommand's name, as an inherited option */
    String[] withUrl(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(Math.min(1, args.length), List.of("--url", node.uri().toString()));
        return all.toArray(String[]::new);
    }

    @Test
    void deploySaysWhenTheSnapshotIsBeingTaken(@TempDir Path dir) throws Exception {
        Path jar = Files.write(dir.resolve("hello.jar"), new byte[] {1, 2, 3});
        node.answer("PUT", "/functions/hello", 201, INFO.replace("\"state\":\"ready\"", "\"state\":\"pending\""));

        assertThat(thaw(withUrl("deploy", "hello", "--jar", jar.toString(), "--handler", "dev.thaw.examples.hello.Hello::handle")))
                .isZero();
        assertThat(out.toString()).contains("deployed hello version 3", "its snapshot is being taken",
                "thaw describe hello");
    }

    @Test
    void deploySendsTheManifestAndPrintsASummary(@TempDir Path dir) throws Exception {
        Path jar = Files.write(dir.resolve("hello.jar"), new byte[] {1, 2, 3});
        node.answer("PUT", "/functions/hello", 201, INFO);

        int code = thaw(withUrl("deploy", "hello", "--jar", jar.toString(), "--handler", "dev.thaw.examples.hello.Hello::handle",
                "--memory-mb", "1024", "--env", "GREETING=hi", "--env", "LANG=en", "--no-snapshots", "--max-instances", "2"));

        assertThat(code).isZero();
        assertThat(out.toString().strip())
                .isEqualTo("deployed hello version 3 (handler dev.thaw.examples.hello.Hello::handle, code 4.6 KiB)");
        JsonNode manifest = Json.mapper().readTree(node.last().body()).get("manifest");
        assertThat(manifest.get("name").asText()).isEqualTo("hello");
        assertThat(manifest.get("memoryMb").asInt()).isEqualTo(1024);
        assertThat(manifest.get("maxInstances").asInt()).isEqualTo(2);
        assertThat(manifest.get("snapshots").asBoolean(true)).isFalse();
        assertThat(manifest.get("environment").get("LANG").asText()).isEqualTo("en");
        assertThat(manifest.has("timeoutMs")).isFalse();
    }

    @Test
    void deployWithoutSnapshotFlagLeavesTheDefaultToTheNode(@TempDir Path dir) throws Exception {
        Path jar = Files.write(dir.resolve("hello.jar"), new byte[] {1});
        node.answer("PUT", "/functions/hello", 200, INFO);
        assertThat(thaw(withUrl("deploy", "hello", "--jar", jar.toString(), "--handler", "a.B::c"))).isZero();
        assertThat(Json.mapper().readTree(node.last().body()).get("manifest").has("snapshots")).isFalse();
    }

    @Test
    void deploySendsThePrimingEventAndRounds(@TempDir Path dir) throws Exception {
        Path jar = Files.write(dir.resolve("hello.jar"), new byte[] {1});
        Path event = Files.writeString(dir.resolve("prime.json"), "{\"name\":\"prime\",\"n\":[1,2]}");
        node.answer("PUT", "/functions/hello", 200, INFO);
        assertThat(thaw(withUrl("deploy", "hello", "--jar", jar.toString(), "--handler", "a.B::c",
                "--prime-file", event.toString(), "--prime-rounds", "25"))).isZero();
        JsonNode priming = Json.mapper().readTree(node.last().body()).get("manifest").get("priming");
        assertThat(priming.get("event")).isEqualTo(Json.mapper().readTree("{\"name\":\"prime\",\"n\":[1,2]}"));
        assertThat(priming.get("rounds").asInt()).isEqualTo(25);
    }

    @Test
    void deploySendsItsOwnWarmSnapshotSettingAndChecksItFirst(@TempDir Path dir) throws Exception {
        Path jar = Files.write(dir.resolve("hello.jar"), new byte[] {1});
        node.answer("PUT", "/functions/hello", 200, INFO);
        assertThat(thaw(withUrl("deploy", "hello", "--jar", jar.toString(), "--handler", "a.B::c",
                "--warm-snapshot-after", "0"))).isZero();
        assertThat(Json.mapper().readTree(node.last().body()).get("manifest").get("warmSnapshotAfter").asInt()).isZero();
        int requests = node.requests().size();
        assertThat(thaw(withUrl("deploy", "hello", "--jar", jar.toString(), "--handler", "a.B::c",
                "--warm-snapshot-after", "-5"))).isEqualTo(1);
        assertThat(err.toString()).contains("warmSnapshotAfter must be between 0 and 100000000, got -5");
        assertThat(node.requests()).hasSize(requests);
    }

    @Test
    void badPrimingFlagsFailBeforeUploading(@TempDir Path dir) throws Exception {
        Path jar = Files.write(dir.resolve("hello.jar"), new byte[] {1});
        assertThat(thaw(withUrl("deploy", "hello", "--jar", jar.toString(), "--handler", "a.B::c",
                "--prime-data", "{\"a\":"))).isEqualTo(2);
        assertThat(err.toString()).contains("--prime-data is not valid JSON");
        assertThat(thaw(withUrl("deploy", "hello", "--jar", jar.toString(), "--handler", "a.B::c",
                "--prime-rounds", "3"))).isEqualTo(2);
        assertThat(err.toString()).contains("--prime-rounds needs a priming event");
        assertThat(thaw(withUrl("deploy", "hello", "--jar", jar.toString(), "--handler", "a.B::c", "--no-snapshots",
                "--prime-data", "{}"))).isEqualTo(1);
        assertThat(err.toString()).contains("snapshots turned off");
        assertThat(node.requests()).isEmpty();
    }

    @Test
    void invalidManifestsFailBeforeUploading(@TempDir Path dir) throws Exception {
        Path jar = Files.write(dir.resolve("hello.jar"), new byte[] {1});
        int code = thaw(withUrl("deploy", "hello", "--jar", jar.toString(), "--handler", "a.B::c", "--memory-mb", "1"));
        assertThat(code).isEqualTo(1);
        assertThat(err.toString()).startsWith("error: InvalidRequest: memoryMb must be between 128 and 32768, got 1");
        assertThat(node.requests()).isEmpty();
    }

    @Test
    void invokePrintsTheBodyAndVerboseTimings() {
        node.answer("POST", LAMBDA_INVOKE, 200, "{\"greeting\":\"hi bench\"}", Map.of(
                "X-Thaw-Request-Id", "req-7", "X-Thaw-Start", "restore", "X-Thaw-Restore-Ms", "12.5",
                "X-Thaw-Duration-Ms", "0.75", "X-Thaw-Function-Version", "3"));

        int code = thaw(withUrl("invoke", "hello", "--data", "{\"name\":\"bench\"}", "--verbose"));

        assertThat(code).isZero();
        assertThat(node.last().bodyText()).isEqualTo("{\"name\":\"bench\"}");
        assertThat(out.toString()).isEqualTo("{\"greeting\":\"hi bench\"}" + System.lineSeparator());
        assertThat(err.toString()).contains("start:          restore", "restore:        12.50 ms",
                "duration:       0.75 ms", "client latency: ", "request id:     req-7").doesNotContain("init:");
    }

    /** A function's state as GET /functions/hello tells it while an invocation waits. */
    private static String info(String snapshotState, int starting, int busy, int queued) {
        return INFO.replace("\"state\":\"ready\"", "\"state\":\"" + snapshotState + "\"")
                .replace("\"instances\":{\"starting\":0,\"idle\":1,\"busy\":2,\"queued\":0}",
                        "\"instances\":{\"starting\":" + starting + ",\"idle\":0,\"busy\":" + busy + ",\"queued\":" + queued + "}");
    }

    @Test
    void aSlowInvocationSaysWhatTheNodeIsDoingInPlainLinesWhenStderrIsNoTerminal() {
        progress = new Progress.Settings(false, Duration.ofMillis(300), Duration.ofMillis(200), Duration.ofMillis(50));
        node.answer("GET", "/functions/hello", 200, info("none", 1, 0, 0));
        node.answer("POST", "/2015-03-31/functions/hello/invocations", 200, "{\"message\":\"Hello, Ada!\"}", Map.of("X-Thaw-Start", "boot"),
                Duration.ofMillis(1500));

        assertThat(thaw(withUrl("invoke", "hello", "--data", "{\"name\":\"Ada\"}"))).as(err::toString).isZero();

        assertThat(out.toString()).as("stdout holds the answer alone").isEqualTo("{\"message\":\"Hello, Ada!\"}\n");
        List<String> lines = err.toString().lines().toList();
        assertThat(lines).hasSizeBetween(2, 6).allSatisfy(l -> assertThat(l)
                .matches("thaw: booting hello \\(no snapshot yet; the first start boots and takes the snapshot\\)… \\d+ s"));
        assertThat(err.toString()).doesNotContain("\r");
        assertThat(node.requests()).anySatisfy(r -> assertThat(r.method() + " " + r.path()).isEqualTo("GET /functions/hello"));
    }

    @Test
    void aSlowInvocationRedrawsOneLineOnATerminalAndErasesIt() {
        progress = new Progress.Settings(true, Duration.ofHours(1), Duration.ofMillis(200), Duration.ofMillis(50));
        node.answer("GET", "/functions/hello", 200, info("ready", 1, 0, 0));
        node.answer("POST", "/2015-03-31/functions/hello/invocations", 200, "{}", Map.of(), Duration.ofMillis(800));

        assertThat(thaw(withUrl("invoke", "hello"))).as(err::toString).isZero();

        assertThat(out.toString()).isEqualTo("{}\n");
        assertThat(err.toString()).contains("\r\033[Krestoring hello from its snapshot… 0 s").endsWith("\r\033[K")
                .doesNotContain("\n");
    }

    @Test
    void aQuickInvocationShowsNoProgressAndAsksNothingMore() {
        progress = new Progress.Settings(true, Duration.ofHours(1), Duration.ofMillis(500), Duration.ofMillis(50));
        node.answer("POST", "/2015-03-31/functions/hello/invocations", 200, "{}");

        assertThat(thaw(withUrl("invoke", "hello"))).as(err::toString).isZero();

        assertThat(err.toString()).isEmpty();
        assertThat(node.requests()).extracting(FakeNode.Request::path).containsExactly("/2015-03-31/functions/hello/invocations");
    }

    @Test
    void whatAWaitingInvocationIsToldFromTheFunctionsState() {
        var f = dev.thaw.core.Json.read(info("none", 1, 0, 0).getBytes(), dev.thaw.core.FunctionInfo.class, "info");
        assertThat(NodeWatch.status(f)).isEqualTo("booting hello (no snapshot yet; the first start boots and takes the snapshot)…");
        f = dev.thaw.core.Json.read(info("ready", 1, 0, 0).getBytes(), dev.thaw.core.FunctionInfo.class, "info");
        assertThat(NodeWatch.status(f)).isEqualTo("restoring hello from its snapshot…");
        f = dev.thaw.core.Json.read(info("ready", 0, 8, 3).getBytes(), dev.thaw.core.FunctionInfo.class, "info");
        assertThat(NodeWatch.status(f)).isEqualTo("waiting for an instance of hello (8 busy of at most 8, 3 queued)…");
        f = dev.thaw.core.Json.read(info("ready", 0, 1, 0).getBytes(), dev.thaw.core.FunctionInfo.class, "info");
        assertThat(NodeWatch.status(f)).isEqualTo("running hello…");
        f = dev.thaw.core.Json.read(INFO.replace("\"state\":\"ready\"", "\"state\":\"disabled\",\"reason\":\"no CRIU\"")
                .replace("\"starting\":0", "\"starting\":1").getBytes(), dev.thaw.core.FunctionInfo.class, "info");
        assertThat(NodeWatch.status(f)).isEqualTo("booting hello (snapshots are off: no CRIU)…");
    }

    @Test
    void aDeployShowsItsUploadOnATerminal(@TempDir Path dir) throws Exception {
        progress = new Progress.Settings(true, Duration.ofHours(1), Duration.ZERO, Duration.ofMillis(50));
        byte[] code = new byte[4 << 20];
        new java.util.Random(3).nextBytes(code);
        Path jar = Files.write(dir.resolve("big.jar"), code);
        node.answer("PUT", "/functions/hello", 201, INFO, Map.of(), Duration.ofMillis(300));

        assertThat(thaw(withUrl("deploy", "hello", "--jar", jar.toString(), "--handler", "a.B::c"))).isZero();

        assertThat(out.toString()).startsWith("deployed hello version 3");
        assertThat(err.toString()).matches("(?s)\r\033\\[Kuploading big\\.jar: .* of 5\\.3 MiB \\(\\d+ %\\), .*/s.*")
                .contains("\r\033[Kuploaded 5.3 MiB in ")
                .contains(" s; the node is checking and unpacking big.jar…")
                .endsWith("\r\033[K");
    }

    @Test
    void aDeployShowsItsUploadInPlainLinesWhenStderrIsNoTerminal(@TempDir Path dir) throws Exception {
        progress = new Progress.Settings(false, Duration.ofHours(1), Duration.ZERO, Duration.ofMillis(50));
        Path jar = Files.write(dir.resolve("big.jar"), new byte[1 << 20]);
        node.answer("PUT", "/functions/hello", 201, INFO);

        assertThat(thaw(withUrl("deploy", "hello", "--jar", jar.toString(), "--handler", "a.B::c"))).isZero();

        assertThat(err.toString().lines().toList()).singleElement().asString().startsWith("thaw: uploading big.jar: ");
        assertThat(out.toString()).startsWith("deployed hello version 3");
    }

    @Test
    void invokeReadsTheEventFromAFile(@TempDir Path dir) throws Exception {
        Path event = Files.writeString(dir.resolve("event.json"), "[1,2]");
        node.answer("POST", LAMBDA_INVOKE, 200, "3");
        assertThat(thaw(withUrl("invoke", "hello", "--data-file", event.toString()))).isZero();
        assertThat(node.last().bodyText()).isEqualTo("[1,2]");
        assertThat(err.toString()).isEmpty();
    }

    @Test
    void invokeWithoutDataSendsAnEmptyBody() {
        node.answer("POST", LAMBDA_INVOKE, 200, "null");
        assertThat(thaw(withUrl("invoke", "hello"))).as(err::toString).isZero();
        assertThat(node.last().body()).isEmpty();
        assertThat(out.toString().strip()).isEqualTo("null");
    }

    @Test
    void functionErrorsPrintTheErrorBodyAndExitOne() {
        node.answer("POST", LAMBDA_INVOKE, 200, """
                {"errorMessage":"boom","errorType":"java.lang.IllegalStateException",
                 "stackTrace":["at a.B.c(B.java:1)","at a.B.d(B.java:2)"]}""", Map.of("X-Amz-Function-Error", "Unhandled"));

        int code = thaw(withUrl("invoke", "hello", "--data", "{}"));

        assertThat(code).isEqualTo(1);
        assertThat(out.toString()).isEmpty();
        assertThat(err.toString()).startsWith("error: FunctionError: java.lang.IllegalStateException: boom"
                        + System.lineSeparator())
                .contains("\"errorType\" : \"java.lang.IllegalStateException\"", "\"at a.B.d(B.java:2)\"");
    }

    @Test
    void invokeSendsTheQualifierTheInvocationTypeAndAsksForTheLogTail() {
        String tail = java.util.Base64.getEncoder().encodeToString("START RequestId: r\nhello\nEND RequestId: r\n".getBytes());
        node.answer("POST", LAMBDA_INVOKE, 200, "1", Map.of("X-Amz-Log-Result", tail, "X-Amz-Executed-Version", "2"));

        assertThat(thaw(withUrl("invoke", "hello", "--qualifier", "live", "--log"))).isZero();

        assertThat(node.last().query()).isEqualTo("Qualifier=live");
        assertThat(node.last().header("X-Amz-Invocation-Type")).isEqualTo("RequestResponse");
        assertThat(node.last().header("X-Amz-Log-Type")).isEqualTo("Tail");
        assertThat(out.toString().strip()).isEqualTo("1");
        assertThat(err.toString()).contains("hello" + System.lineSeparator()).contains("END RequestId: r");
    }

    @Test
    void theLogTailIsAskedForButPrintedOnlyWithLogOrVerbose() {
        String tail = java.util.Base64.getEncoder().encodeToString("the tail\n".getBytes());
        node.answer("POST", LAMBDA_INVOKE, 200, "1", Map.of("X-Amz-Log-Result", tail));
        assertThat(thaw(withUrl("invoke", "hello", "--log-type", "Tail"))).isZero();
        assertThat(node.last().header("X-Amz-Log-Type")).isEqualTo("Tail");
        assertThat(err.toString()).doesNotContain("the tail");
        assertThat(thaw(withUrl("invoke", "hello", "--log-type", "Tail", "--verbose"))).isZero();
        assertThat(err.toString()).contains("the tail");
    }

    @Test
    void anEventPrintsItsRequestIdAndADryRunSaysNothingRan() {
        node.answer("POST", LAMBDA_INVOKE, 202, "", Map.of("X-Amz-Request-Id", "req-9", "X-Thaw-Request-Id", "req-9"));
        assertThat(thaw(withUrl("invoke", "hello", "--invocation-type", "Event", "--data", "{}"))).isZero();
        assertThat(node.last().header("X-Amz-Invocation-Type")).isEqualTo("Event");
        assertThat(out.toString().strip()).isEqualTo("queued: request id req-9");
        out.getBuffer().setLength(0);

        node.answer("POST", "/2015-03-31/functions/hello%3Alive/invocations", 204, "", Map.of("X-Amz-Executed-Version", "4"));
        assertThat(thaw(withUrl("invoke", "hello:live", "--invocation-type", "DryRun"))).isZero();
        assertThat(node.last().path()).isEqualTo("/2015-03-31/functions/hello%3Alive/invocations");
        assertThat(out.toString().strip()).isEqualTo("dry run: function hello:live version 4 would run; nothing ran");

        assertThat(thaw(withUrl("invoke", "hello", "--invocation-type", "Later"))).isEqualTo(2);
        assertThat(err.toString()).contains("invocation type 'Later' is not one of RequestResponse, Event, DryRun");
    }

    @Test
    void lambdaShapedPlatformErrorsPrintTheirThawTypeAndMessage() {
        node.answer("POST", LAMBDA_INVOKE, 404, "{\"Type\":\"User\",\"message\":\"no function named 'hello' is deployed\"}",
                Map.of("x-amzn-ErrorType", "ResourceNotFoundException", "X-Thaw-Error-Type", "FunctionNotFound"));
        assertThat(thaw(withUrl("invoke", "hello"))).isEqualTo(1);
        assertThat(err.toString().strip()).isEqualTo("error: FunctionNotFound: no function named 'hello' is deployed");
    }

    @Test
    void aliasCommandsSetListAndDelete() {
        node.answer("PUT", "/functions/hello/aliases/live", 201, "{\"function\":\"hello\",\"alias\":\"live\",\"version\":2}")
                .answer("GET", "/functions/hello/versions", 200, """
                        {"function":"hello","versions":[
                          {"version":2,"latest":false,"aliases":["live"],"deployedAt":"2026-12-01T00:00:00Z","snapshot":"ready"},
                          {"version":3,"latest":true,"aliases":[],"deployedAt":"2026-12-02T00:00:00Z","snapshot":null}]}""")
                .answer("DELETE", "/functions/hello/aliases/live", 200, "{\"function\":\"hello\",\"deleted\":\"live\",\"version\":2}");

        assertThat(thaw(withUrl("alias", "set", "hello", "live", "2"))).isZero();
        assertThat(node.last().bodyText()).isEqualTo("{\"version\":2}");
        assertThat(thaw(withUrl("alias", "list", "hello"))).isZero();
        assertThat(thaw(withUrl("alias", "delete", "hello", "live"))).isZero();
        List<String> lines = out.toString().lines().toList();
        assertThat(lines.getFirst()).isEqualTo("created alias live of hello -> version 2");
        assertThat(lines.get(1)).startsWith("VERSION").contains("ALIASES");
        assertThat(lines.get(2)).contains("2", "live", "ready");
        assertThat(lines.get(3)).contains("3", "-", "latest");
        assertThat(lines.getLast()).isEqualTo("deleted alias live of hello (it pointed to version 2)");
    }

    @Test
    void eventsDeadListsTheDeadLettersAndClearsThem() {
        node.answer("GET", "/functions/hello/events/dead", 200, """
                {"function":"hello","deadLetters":[{"requestId":"req-1","enqueuedAt":"2026-12-01T00:00:00Z",
                 "failedAt":"2026-12-01T00:03:00Z","attempts":3,"lastError":"java.lang.IllegalStateException: no",
                 "payloadBytes":17}]}""")
                .answer("DELETE", "/functions/hello/events/dead", 200, "{\"function\":\"hello\",\"cleared\":1}");
        assertThat(thaw(withUrl("events", "dead", "hello", "--clear"))).isZero();
        List<String> lines = out.toString().lines().toList();
        assertThat(lines.get(0)).startsWith("REQUEST ID").contains("FAILED AT", "ATTEMPTS", "PAYLOAD", "LAST ERROR");
        assertThat(lines.get(1)).contains("req-1", "2026-12-01T00:03:00Z", "3", "17 B", "java.lang.IllegalStateException: no");
        assertThat(lines.get(2)).isEqualTo("cleared 1 dead letters of hello");
    }

    @Test
    void platformErrorsPrintOneLineAndExitOne() {
        int code = thaw(withUrl("describe", "nope"));
        assertThat(code).isEqualTo(1);
        assertThat(err.toString()).isEqualTo("error: FunctionNotFound: no route in fake" + System.lineSeparator());
    }

    @Test
    void aMissingNodeSaysHowToStartOne() throws IOException {
        int port;
        try (var socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        int code = thaw("--url", "http://127.0.0.1:" + port, "list");
        assertThat(code).isEqualTo(1);
        assertThat(err.toString().strip())
                .isEqualTo("error: ServiceUnavailable: no thaw node at http://127.0.0.1:" + port + ": start one with ./thaw up");
    }

    @Test
    void usageErrorsExitTwo() {
        assertThat(thaw(withUrl("invoke"))).isEqualTo(2);
        assertThat(err.toString()).contains("Missing required parameter: 'NAME'");
        assertThat(thaw(withUrl("invoke", "hello", "--data", "{}", "--data-file", "x.json"))).isEqualTo(2);
        assertThat(thaw(withUrl("invoke", "hello", "--data", "{not json"))).isEqualTo(2);
        assertThat(err.toString()).contains("--data is not valid JSON");
        assertThat(thaw(withUrl("bench", "cold-start", "--functions", "nope"))).isEqualTo(2);
        assertThat(err.toString()).contains("unknown function 'nope'");
        assertThat(thaw()).isEqualTo(2);
        assertThat(thaw("snapshot")).isEqualTo(2);
        assertThat(err.toString()).contains("choose one of: list, inspect");
        assertThat(node.requests()).isEmpty();
    }

    @Test
    void anExternalS3TierNeedsItsCredentialsFromTheEnvironment() {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getenv("THAW_S3_ACCESS_KEY") == null);
        assertThat(thaw("up", "--port", "0", "--s3-endpoint", "http://127.0.0.1:9")).isEqualTo(2);
        assertThat(err.toString()).contains("--s3-endpoint needs the credentials in THAW_S3_ACCESS_KEY and THAW_S3_SECRET_KEY");
    }

    @Test
    void aBadEgressPatternIsAUsageErrorNamingIt() {
        assertThat(thaw("up", "--port", "0", "--egress-allow", "api.example.com:443,*.:443")).isEqualTo(2);
        assertThat(err.toString()).contains("bad egress pattern '*.:443'")
                .contains("host:port, *.suffix:port, host:*, *:port or *");
    }

    @Test
    void aNegativeBoundOnConcurrentStartsIsAUsageErrorNamingTheFlag() {
        assertThat(thaw("up", "--port", "0", "--max-starting", "-1")).isEqualTo(2);
        assertThat(err.toString()).contains("--max-starting must be 0 (no bound) or more, not -1");
    }

    @Test
    void freshenLimitsOutOfRangeAreUsageErrorsNamingTheFlag() {
        assertThat(thaw("up", "--port", "0", "--freshen-max-calls", "-1")).isEqualTo(2);
        assertThat(err.toString()).contains("--freshen-max-calls must be between 0 and 10000, not -1");
        assertThat(thaw("up", "--port", "0", "--freshen-window-s", "7200")).isEqualTo(2);
        assertThat(err.toString()).contains("--freshen-window-s must be between 1 and 3600, not 7200");
        assertThat(thaw("up", "--port", "0", "--freshen-max-ms", "0")).isEqualTo(2);
        assertThat(err.toString()).contains("--freshen-max-ms must be positive, not 0");
    }

    @Test
    void listPrintsATable() {
        node.answer("GET", "/functions", 200, "{\"functions\":[" + INFO + "," + INFO.replace("\"hello\"", "\"json-transform\"")
                .replace("\"ready\"", "\"none\"").replace("\"busy\":2", "\"busy\":0") + "]}");

        assertThat(thaw(withUrl("list"))).isZero();

        assertThat(out.toString().lines()).containsExactly(
                "NAME            VERSION  HANDLER                                MEMORY  SNAPSHOT  IDLE/BUSY",
                "hello           3        dev.thaw.examples.hello.Hello::handle  512 MB  ready     1/2",
                "json-transform  3        dev.thaw.examples.hello.Hello::handle  512 MB  none      1/0");
    }

    @Test
    void listSaysWhenNothingIsDeployed() {
        node.answer("GET", "/functions", 200, "{\"functions\":[]}");
        assertThat(thaw(withUrl("list"))).isZero();
        assertThat(out.toString().strip()).isEqualTo("no functions deployed");
    }

    @Test
    void describeLogsDeleteAndEvict() throws Exception {
        node.answer("GET", "/functions/hello", 200, INFO)
                .answer("GET", "/functions/hello/logs", 200, "START r1\nEND r1")
                .answer("DELETE", "/functions/hello", 200, "{\"deleted\":\"hello\",\"version\":3}")
                .answer("DELETE", "/functions/hello/instances", 200, "{\"evicted\":1}");

        assertThat(thaw(withUrl("describe", "hello"))).isZero();
        assertThat(Json.mapper().readTree(out.toString()).at("/snapshot/state").asText()).isEqualTo("ready");
        assertThat(out.toString()).contains("\n  \"version\" : 3");
        out.getBuffer().setLength(0);

        assertThat(thaw(withUrl("logs", "hello", "--tail", "5"))).isZero();
        assertThat(node.last().query()).isEqualTo("tail=5");
        assertThat(thaw(withUrl("delete", "hello"))).isZero();
        assertThat(thaw(withUrl("evict", "hello"))).isZero();
        assertThat(out.toString().lines()).containsExactly("START r1", "END r1", "deleted hello (version 3)",
                "evicted 1 instance of hello");
    }

    @Test
    void aCommandLineHoldsOnlyTheSubcommandItNamesFirstAndTheWholeTreeOtherwise() {
        assertThat(ThawCli.commandLineFor(new String[] {"list"}, (u, t) -> null, progress).getSubcommands())
                .containsOnlyKeys("list");
        assertThat(ThawCli.commandLineFor(new String[] {"snapshot", "list"}, (u, t) -> null, progress).getSubcommands())
                .containsOnlyKeys("snapshot");
        assertThat(ThawCli.commandLineFor(new String[] {"--url", "http://127.0.0.1:1", "list"}, (u, t) -> null, progress)
                .getSubcommands()).hasSize(ThawCli.COMMANDS.size());
        assertThat(ThawCli.commandLineFor(new String[] {"--version"}, (u, t) -> null, progress).getSubcommands()).isEmpty();

        assertThat(thaw()).isEqualTo(2);
        assertThat(err.toString()).contains("choose a command", "deploy", "invoke", "snapshot", "bench");
        assertThat(thaw("help", "invoke")).isZero();
        assertThat(out.toString()).contains("Usage: thaw invoke");
        assertThat(thaw("lsit")).isEqualTo(2);
        assertThat(err.toString()).contains("Unmatched argument at index 0: 'lsit'", "list");
        assertThat(thaw("list", "--help")).isZero();
        assertThat(out.toString()).contains("Usage: thaw list", "--url");
        assertThat(thaw("--version")).isZero();
        assertThat(out.toString()).contains("thaw 0.1.0-SNAPSHOT");
    }

    @Test
    void commandsThatAskNoNodeNeitherOfferNorTakeTheNodesUrlOrToken() {
        for (String[] local : new String[][] {{"up"}, {"cluster", "up"}, {"s3-server"}, {"bench", "restore"}}) {
            String command = String.join(" ", local);
            out.getBuffer().setLength(0);
            assertThat(thaw(concat(local, "--help"))).as(command).isZero();
            assertThat(out.toString()).as(command).contains("Usage: thaw " + command)
                    .doesNotContain("--url", "[--token-file", " --token-file=");
            err.getBuffer().setLength(0);
            // --dir: s3-server's required option, else its absence is the error reported
            assertThat(thaw(concat(local, "--url", "http://127.0.0.1:1", "--dir", "unused"))).as(command).isEqualTo(2);
            assertThat(err.toString()).as(command).contains("Unknown option", "'--url'");
        }
        for (String[] asking : new String[][] {{"list"}, {"cluster", "nodes"}, {"bench", "run"}, {"snapshot", "list"}}) {
            out.getBuffer().setLength(0);
            assertThat(thaw(concat(asking, "--help"))).isZero();
            assertThat(out.toString()).as(String.join(" ", asking)).contains("--url=URL", "--token-file=FILE");
        }
    }

    private static String[] concat(String[] head, String... tail) {
        return java.util.stream.Stream.concat(java.util.Arrays.stream(head), java.util.Arrays.stream(tail))
                .toArray(String[]::new);
    }

    @Test
    void urlMayPrecedeTheSubcommand() {
        node.answer("GET", "/functions", 200, "{\"functions\":[]}");
        assertThat(thaw("--url", node.uri().toString(), "list")).isZero();
        assertThat(urls).containsExactly(node.uri());
    }

    @Test
    void urlMayFollowTheSubcommand() {
        node.answer("GET", "/functions", 200, "{\"functions\":[]}");
        assertThat(thaw("list", "--url", node.uri().toString())).isZero();
        assertThat(urls).containsExactly(node.uri());
    }

    @Test
    void benchNeedsTheBuiltExamples(@TempDir Path dir) {
        node.answer("GET", "/healthz", 200, "{\"status\":\"ok\"}");
        int code = thaw(withUrl("bench", "cold-start", "--functions", "hello", "--examples-dir", dir.toString(),
                "--output", dir.resolve("out").toString()));
        assertThat(code).isEqualTo(1);
        assertThat(err.toString()).startsWith("error: InvalidRequest: example JAR ").contains("thaw-examples-hello.jar is missing");
        assertThat(node.requests()).isEmpty();
    }

    @Test
    void deploySizesAreHumanReadable() {
        assertThat(DeployCommand.size(812)).isEqualTo("812 B");
        assertThat(DeployCommand.size(4711)).isEqualTo("4.6 KiB");
        assertThat(DeployCommand.size(12L * 1024 * 1024)).isEqualTo("12.0 MiB");
    }
}
