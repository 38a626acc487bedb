package dev.thaw.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.thaw.client.ThawClient;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class BenchRunCommandTest {
    @TempDir
    Path dir;

    @Test
    void runsAScenarioWithUrlAndSeedFromTheCommandLine() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", x -> {
            x.getRequestBody().readAllBytes();
            x.getResponseHeaders().add("X-Thaw-Start", "warm");
            x.getResponseHeaders().add("X-Thaw-Duration-Ms", "0.1");
            x.sendResponseHeaders(200, 2);
            x.getResponseBody().write("{}".getBytes());
            x.close();
        });
        server.start();
        try {
            Path config = Files.writeString(dir.resolve("s.yaml"), """
                    name: cli
                    target: {url: "http://127.0.0.1:1", kind: http}
                    functions: [{name: f, path: /x}]
                    load: {mode: open, arrival: {type: exponential, iatMs: 2}, requests: 20}
                    """);
            StringWriter out = new StringWriter();
            CommandLine cli = ThawCli.commandLine(ThawClient::create);
            cli.setOut(new PrintWriter(out, true)).setErr(new PrintWriter(new StringWriter(), true));
            int code = cli.execute("bench", "run", config.toString(), "--url",
                    "http://127.0.0.1:" + server.getAddress().getPort(), "--seed", "77", "--output", dir.resolve("o").toString());
            assertThat(code).as(out.toString()).isZero();
            assertThat(out.toString()).contains("seed 77", "p99/p50");
            assertThat(Files.readAllLines(dir.resolve("o/requests.csv"))).hasSize(22); // header + 1 warm-up + 20
            assertThat(dir.resolve("o/report.html")).exists();
        } finally {
            server.stop(0);
        }
    }

    @Test
    void aThawTargetIsCalledWithTheTokenOfTokenFile() throws Exception {
        java.util.List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", x -> {
            x.getRequestBody().readAllBytes();
            seen.add(String.valueOf(x.getRequestHeaders().getFirst("Authorization")));
            x.sendResponseHeaders(401, -1); // stops the run at its first request: only the header matters here
            x.close();
        });
        server.start();
        try {
            Path jar = Files.write(dir.resolve("f.jar"), new byte[] {1});
            Path config = Files.writeString(dir.resolve("s.yaml"), """
                    name: token
                    target: {url: "http://127.0.0.1:1", kind: thaw}
                    functions: [{name: f, jar: %s, handler: "a.B::c"}]
                    load: {mode: closed, concurrency: 1, requests: 1}
                    """.formatted(jar));
            Path token = Files.writeString(dir.resolve("api-token"), "token-from-the-file\n");
            CommandLine cli = ThawCli.commandLine(ThawClient::create);
            cli.setOut(new PrintWriter(new StringWriter(), true)).setErr(new PrintWriter(new StringWriter(), true));
            cli.execute("bench", "run", config.toString(), "--token-file", token.toString(), "--url",
                    "http://127.0.0.1:" + server.getAddress().getPort(), "--output", dir.resolve("o").toString());
            assertThat(seen).isNotEmpty().allSatisfy(h -> assertThat(h).isEqualTo("Bearer token-from-the-file"));
        } finally {
            server.stop(0);
        }
    }

    @Test
    void aBadConfigIsAUsageErrorNamingTheField() throws Exception {
        Path config = Files.writeString(dir.resolve("bad.yaml"), "target: {url: ftp://x}\nfunctions: []\n");
        StringWriter err = new StringWriter();
        CommandLine cli = ThawCli.commandLine(ThawClient::create);
        cli.setOut(new PrintWriter(new StringWriter(), true)).setErr(new PrintWriter(err, true));
        assertThat(cli.execute("bench", "run", config.toString())).isEqualTo(2);
        assertThat(err.toString()).contains("target.url must be an http(s) URL", "functions: at least one", "load is required");
    }
}
