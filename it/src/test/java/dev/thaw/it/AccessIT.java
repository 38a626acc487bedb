package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.client.ThawClient;
import dev.thaw.core.ErrorType;
import dev.thaw.core.ThawException;
import dev.thaw.node.Node;
import dev.thaw.node.NodeConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Who may use a node's public API: the token, the Host and Origin checks, the opt-in open invoke,
 * the CLI with its token, and the AWS CLI signing with the node's access keys. Requests are written
 * on raw sockets where a header must be what a browser or an attacker would send.
 */
class AccessIT {
    private static TestNode node;

    @BeforeAll
    static void start() throws IOException {
        node = new TestNode(false);
        node.deploy("echo", TestNode.TF + "EchoRequestHandler::handleRequest", TestNode.TEST_FUNCTIONS, Map.of(), false,
                10_000);
    }

    @AfterAll
    static void stop() throws Exception {
        node.close();
    }

    /** One HTTP/1.1 exchange with exactly these headers; returns the status line, headers and body. */
    static String raw(int port, String method, String path, Map<String, String> headers, String body) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(30_000);
            StringBuilder req = new StringBuilder(method + " " + path + " HTTP/1.1\r\n");
            headers.forEach((k, v) -> req.append(k).append(": ").append(v).append("\r\n"));
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            req.append("Content-Length: ").append(b.length).append("\r\n\r\n");
            OutputStream out = s.getOutputStream();
            out.write(req.toString().getBytes(StandardCharsets.UTF_8));
            out.write(b);
            out.flush();
            return readResponse(s.getInputStream());
        }
    }

    /** Reads one response: its head up to the blank line, then Content-Length bytes of body. */
    private static String readResponse(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int c = in.read();
            if (c < 0) {
                break;
            }
            head.write(c);
            state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
        }
        String h = head.toString(StandardCharsets.UTF_8);
        int length = 0;
        for (String line : h.split("\r\n")) {
            if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(line.indexOf(':') + 1).strip());
            }
        }
        return h + new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }

    private static String host() {
        return "127.0.0.1:" + node.node.port();
    }

    @Test
    void withoutOrWithAWrongTokenEveryRouteButHealthIsRefused() throws IOException {
        int port = node.node.port();
        for (String[] route : new String[][] {{"GET", "/functions"}, {"PUT", "/functions/planted"},
                {"DELETE", "/functions/echo"}, {"POST", "/functions/echo/invoke"}, {"POST", "/store/gc"},
                {"GET", "/metrics"}, {"DELETE", "/functions/echo/instances"}, {"GET", "/functions/echo/logs"}}) {
            String none = raw(port, route[0], route[1], Map.of("Host", host()), "{}");
            assertThat(none).as(route[0] + " " + route[1]).startsWith("HTTP/1.1 401")
                    .contains("WWW-Authenticate: Bearer").contains("this node requires authentication");
            String wrong = raw(port, route[0], route[1], Map.of("Host", host(), "Authorization", "Bearer nope"), "{}");
            assertThat(wrong).startsWith("HTTP/1.1 401").contains("the API token is wrong");
        }
        String probe = raw(port, "GET", "/healthz", Map.of("Host", host()), "");
        assertThat(probe).as("a probe learns that the node serves, nothing of what it runs").startsWith("HTTP/1.1 200")
                .endsWith("{\"status\":\"ok\"}").doesNotContain("snapshots", "functions", "sandbox", "transfers");
        assertThat(raw(port, "GET", "/healthz", Map.of("Host", host(), "Authorization", "Bearer nope"), ""))
                .endsWith("{\"status\":\"ok\"}");
        assertThat(raw(port, "GET", "/healthz", Map.of("Host", host(), "Authorization", "Bearer " + node.node.apiToken()),
                "")).as("in full with the token").contains("\"snapshots\":", "\"functions\":1", "\"transfers\":");
        assertThat(node.client.list()).extracting(f -> f.name()).containsExactly("echo"); // nothing was deleted or planted
    }

    @Test
    void theRightTokenIsAccepted() throws IOException {
        String ok = raw(node.node.port(), "POST", "/functions/echo/invoke",
                Map.of("Host", host(), "Authorization", "Bearer " + node.node.apiToken()), "{\"k\":1}");
        assertThat(ok).startsWith("HTTP/1.1 200").contains("\"echo\":{\"k\":1}");
        assertThat(Files.getPosixFilePermissions(node.dataDir.resolve("api-token")))
                .containsExactlyInAnyOrder(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                        java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
    }

    @Test
    void aForeignHostIsRefusedEvenWithTheToken() throws IOException {
        for (String h : List.of("evil.example", "evil.example:" + node.node.port(), "127.0.0.1:1")) {
            String r = raw(node.node.port(), "GET", "/functions",
                    Map.of("Host", h, "Authorization", "Bearer " + node.node.apiToken()), "");
            assertThat(r).as(h).startsWith("HTTP/1.1 403").contains("is not this node's address");
        }
        assertThat(raw(node.node.port(), "GET", "/healthz", Map.of("Host", "rebound.example"), "")).startsWith("HTTP/1.1 403");
    }

    @Test
    void aCrossOriginSimplePostIsRefusedAndNoCorsIsAnswered() throws IOException {
        String r = raw(node.node.port(), "POST", "/functions/echo/invoke", Map.of("Host", host(),
                "Origin", "http://evil.example", "Content-Type", "text/plain"), "{}");
        assertThat(r).startsWith("HTTP/1.1 403").contains("cross-origin requests are refused")
                .doesNotContainIgnoringCase("Access-Control-Allow");
    }

    @Test
    void invocationOpensToLocalCallersOnlyByAnExplicitSetting() throws Exception {
        Path dir = Files.createTempDirectory("thaw-open-");
        try (Node open = Node.start(NodeConfig.builder().port(0).dataDir(dir)
                .runtimeJar(TestNode.FUNCTIONS.resolve("thaw-runtime.jar")).criu(null).snapshotStore(false)
                .openInvoke(true).build());
             ThawClient withToken = ThawClient.create(open.uri(), open.apiToken())) {
            withToken.deploy(new dev.thaw.core.FunctionManifest("echo", TestNode.TF + "EchoRequestHandler::handleRequest",
                    null, 256, 10_000, Map.of(), 2, false), TestNode.TEST_FUNCTIONS);
            String h = "127.0.0.1:" + open.port();
            assertThat(raw(open.port(), "POST", "/functions/echo/invoke", Map.of("Host", h), "{}")).startsWith("HTTP/1.1 200");
            assertThat(raw(open.port(), "POST", "/2015-03-31/functions/echo/invocations", Map.of("Host", h), "{}"))
                    .startsWith("HTTP/1.1 200");
            assertThat(raw(open.port(), "DELETE", "/functions/echo", Map.of("Host", h), "")).startsWith("HTTP/1.1 401");
            assertThat(raw(open.port(), "POST", "/functions/echo/invoke", Map.of("Host", h, "Origin", "http://evil.example"),
                    "{}")).startsWith("HTTP/1.1 403");
        } finally {
            dev.thaw.core.FileTrees.deleteQuietly(dir);
        }
    }

    @Test
    void theClientWithoutATokenGetsAClearUnauthorized() {
        try (ThawClient anonymous = ThawClient.create(node.node.uri())) {
            try {
                anonymous.list();
                throw new AssertionError("listing without a token must fail");
            } catch (ThawException e) {
                assertThat(e.type()).isEqualTo(ErrorType.Unauthorized);
                assertThat(e.getMessage()).contains("THAW_TOKEN");
            }
        }
    }

    @Test
    void theCliUsesItsTokenFileAndSaysWhatIsWrongWithoutIt() throws Exception {
        Path tokenFile = node.dataDir.resolve("api-token");
        Cli.Result ok = Cli.run(Map.of(), "--url", node.node.uri().toString(), "--token-file", tokenFile.toString(), "list");
        assertThat(ok.exitCode()).as(ok.stderr()).isZero();
        assertThat(ok.stdout()).contains("echo");

        Cli.Result env = Cli.run(Map.of("THAW_TOKEN", node.node.apiToken()), "--url", node.node.uri().toString(), "list");
        assertThat(env.exitCode()).as(env.stderr()).isZero();

        Cli.Result none = Cli.run(Map.of(), "--url", node.node.uri().toString(), "list");
        assertThat(none.exitCode()).isNotZero();
        assertThat(none.stderr()).contains("this node requires authentication").contains("THAW_TOKEN");
    }

    /** The thaw CLI as users run it: its shaded JAR in a JVM of its own, from a directory with no .thaw. */
    static final class Cli {
        record Result(int exitCode, String stdout, String stderr) {
        }

        static Result run(Map<String, String> env, String... args) throws IOException, InterruptedException {
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-jar", TestNode.FUNCTIONS.resolve("thaw-cli.jar").toAbsolutePath().toString()));
            cmd.addAll(List.of(args));
            Path cwd = Files.createTempDirectory("thaw-cli-cwd-");
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile());
            pb.environment().remove("THAW_TOKEN");
            pb.environment().putAll(env);
            Process p = pb.start();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            Thread t = Thread.ofVirtual().start(() -> {
                try {
                    p.getErrorStream().transferTo(err);
                } catch (IOException e) {
                    // the process ended
                }
            });
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(60, TimeUnit.SECONDS);
            t.join();
            Files.deleteIfExists(cwd);
            return new Result(p.exitValue(), out, err.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void theAwsCliSignsWithTheNodesAccessKeysAndAWrongSecretIsRefused() throws Exception {
        Path creds = node.node.awsCredentialsFile();
        AwsCli.Result ok = AwsCli.invoke(node.node.uri(), creds, "thaw", "echo", "{\"signed\":true}");
        assertThat(ok.exitCode()).as(ok.stderr()).isZero();
        assertThat(ok.output()).contains("\"signed\":true");

        Path forged = Files.createTempFile("thaw-creds-", ".ini");
        Files.writeString(forged, Files.readString(creds).replaceAll("aws_secret_access_key = .*",
                "aws_secret_access_key = wrongwrongwrongwrongwrongwrong"));
        try {
            AwsCli.Result refused = AwsCli.invoke(node.node.uri(), forged, "thaw", "echo", "{\"forged\":true}");
            assertThat(refused.exitCode()).isNotZero();
            assertThat(refused.stderr()).contains("(InvalidSignatureException)", "the request signature does not match");
        } finally {
            Files.deleteIfExists(forged);
        }
        assertThat(node.client.logs("echo", 1000)).doesNotContain("forged");
    }

    /** The AWS CLI, run with nothing of the host's AWS configuration. */
    static final class AwsCli {
        record Result(int exitCode, String output, String stderr) {
        }

        static Result invoke(java.net.URI endpoint, Path credentials, String profile, String function, String payload)
                throws IOException, InterruptedException {
            Path out = Files.createTempFile("thaw-aws-out-", ".json");
            Path config = Files.createTempFile("thaw-aws-config-", ".ini");
            try {
                List<String> cmd = new ArrayList<>(List.of("aws", "lambda", "invoke", "--endpoint-url", endpoint.toString(),
                        "--region", "us-east-1", "--profile", profile, "--function-name", function,
                        "--payload", payload, out.toString()));
                ProcessBuilder pb = new ProcessBuilder(cmd);
                Map<String, String> env = pb.environment();
                env.keySet().removeIf(k -> k.startsWith("AWS_"));
                env.put("AWS_SHARED_CREDENTIALS_FILE", credentials.toString());
                env.put("AWS_CONFIG_FILE", config.toString());
                env.put("AWS_MAX_ATTEMPTS", "1");
                Process p = pb.start();
                ByteArrayOutputStream err = new ByteArrayOutputStream();
                Thread t = Thread.ofVirtual().start(() -> {
                    try {
                        p.getErrorStream().transferTo(err);
                    } catch (IOException e) {
                        // the process ended
                    }
                });
                p.getInputStream().readAllBytes();
                if (!p.waitFor(Duration.ofSeconds(60).toMillis(), TimeUnit.MILLISECONDS)) {
                    p.destroyForcibly();
                    throw new AssertionError("aws lambda invoke did not finish within 60 s");
                }
                t.join();
                return new Result(p.exitValue(), Files.readString(out), err.toString(StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(config);
            }
        }
    }
}
