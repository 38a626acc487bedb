package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.client.InvocationResult;
import dev.thaw.core.FunctionInfo;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Clients that close their connection while their invocation runs, as a caller giving up or a
 * Ctrl-C does: the node logs at most one INFO line naming the route and the client (no SEVERE, no
 * WARNING, no stack trace), the invocation runs to its end, and the function answers the next call
 * from the same, healthy instance. Raw sockets, so the test decides how the connection ends: a
 * FIN (close) or a reset (SO_LINGER 0, as a killed process's connection may end).
 */
class ClientDisconnectIT {
    private static final String SLEEPER = TestNode.TF + "Sleeper::handle";
    private static TestNode node;
    private static final Records records = new Records();
    private static final Logger ROOT = Logger.getLogger("");

    /** Every record the node's JVM logs through java.util.logging (the System.Logger of node and Helidon). */
    static final class Records extends Handler {
        final List<LogRecord> all = new CopyOnWriteArrayList<>();
        private final SimpleFormatter formatter = new SimpleFormatter();

        @Override
        public void publish(LogRecord r) {
            all.add(r);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }

        String text(LogRecord r) {
            return r.getLevel() + " " + r.getLoggerName() + ": " + formatter.formatMessage(r);
        }

        List<String> disconnectLines() {
            return all.stream().filter(r -> formatter.formatMessage(r).contains("went away")).map(this::text).toList();
        }

        /** @return records at WARNING or above, and any record carrying a stack trace */
        List<String> noisy() {
            return all.stream().filter(r -> r.getLevel().intValue() >= Level.WARNING.intValue() || r.getThrown() != null)
                    .map(r -> text(r) + (r.getThrown() == null ? "" : " [" + r.getThrown() + "]")).toList();
        }
    }

    @BeforeAll
    static void start() throws IOException {
        records.setLevel(Level.ALL);
        ROOT.addHandler(records);
        node = new TestNode(false); // boots only: what is tested is the HTTP edge, on any machine
        node.deploy("sleeper", SLEEPER, TestNode.TEST_FUNCTIONS, Map.of(), false, 30_000);
        node.deploy("sleepy", SLEEPER, TestNode.TEST_FUNCTIONS, Map.of(), false, 1_000);
        assertThat(node.invoke("sleeper", "{\"ms\":1}").bodyAsString()).isEqualTo("{\"slept\":1}");
    }

    @AfterAll
    static void stop() throws IOException {
        ROOT.removeHandler(records);
        if (node != null) {
            node.close();
        }
    }

    @BeforeEach
    void clear() {
        records.all.clear();
    }

    /** Sends a request and closes the connection without reading the answer. @return the client's port */
    private static int sendAndLeave(String path, String body, int sendBytes, boolean reset, long closeAfterMs)
            throws IOException, InterruptedException {
        try (Socket s = new Socket("127.0.0.1", node.node.port())) {
            byte[] payload = body.getBytes(StandardCharsets.UTF_8);
            OutputStream out = s.getOutputStream();
            out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + node.node.port() + "\r\nAuthorization: Bearer "
                    + node.node.apiToken() + "\r\nContent-Type: application/json\r\nContent-Length: "
                    + payload.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(payload, 0, Math.min(sendBytes, payload.length));
            out.flush();
            Thread.sleep(closeAfterMs);
            if (sendBytes >= payload.length) {
                // the invocation is running before the client leaves, however slow the machine is today
                String name = path.split("/")[2];
                Eventually.poll(() -> node.client.describe(name).instances().busy(), busy -> busy >= 1, Duration.ofSeconds(10),
                        Duration.ofMillis(20));
            }
            if (reset) {
                s.setSoLinger(true, 0);
            }
            return s.getLocalPort();
        }
    }

    private static FunctionInfo awaitIdle(String name) throws InterruptedException {
        return Eventually.poll(() -> node.client.describe(name), f -> f.instances().busy() == 0 && f.instances().starting() == 0,
                Duration.ofSeconds(30), Duration.ofMillis(50));
    }

    /** The function answers the next call at once, from the instance that ran the abandoned invocation. */
    private static void answersFromTheSameInstance() throws InterruptedException {
        FunctionInfo idle = awaitIdle("sleeper");
        assertThat(idle.instances().idle()).as("the instance is back, idle").isEqualTo(1);
        InvocationResult next = node.invoke("sleeper", "{\"ms\":1}");
        assertThat(next.bodyAsString()).isEqualTo("{\"slept\":1}");
        assertThat(next.startKind().wireName()).isEqualTo("warm");
    }

    @Test
    void aClientThatClosesWhileItsInvocationRunsLeavesNoNoise() throws Exception {
        sendAndLeave("/functions/sleeper/invoke", "{\"ms\":1500}", Integer.MAX_VALUE, false, 300);
        answersFromTheSameInstance();
        assertThat(java.util.regex.Pattern.compile("REPORT.*\\tDuration: (\\d+)").matcher(node.client.logs("sleeper", 50))
                .results().mapToDouble(m -> Double.parseDouble(m.group(1))).max().orElse(0))
                .as("the abandoned invocation ran to its end").isGreaterThanOrEqualTo(1500);
        assertThat(records.noisy()).isEmpty();
    }

    @Test
    void aResetConnectionIsOneInfoLineNamingTheRouteAndTheClient() throws Exception {
        int port = sendAndLeave("/functions/sleeper/invoke", "{\"ms\":1500}", Integer.MAX_VALUE, true, 300);
        answersFromTheSameInstance();
        List<String> lines = Eventually.poll(records::disconnectLines, l -> !l.isEmpty(), Duration.ofSeconds(10),
                Duration.ofMillis(50));
        assertThat(lines).singleElement().satisfies(l -> assertThat(l).startsWith("INFO")
                .contains("client 127.0.0.1:" + port + " went away before its answer was sent")
                .contains("POST /functions/sleeper/invoke"));
        assertThat(records.noisy()).isEmpty();
    }

    @Test
    void aClientGoneBeforeAnErrorAnswerIsOneInfoLine() throws Exception {
        int port = sendAndLeave("/functions/sleepy/invoke", "{\"ms\":3000}", Integer.MAX_VALUE, true, 300);
        List<String> lines = Eventually.poll(records::disconnectLines, l -> !l.isEmpty(), Duration.ofSeconds(15),
                Duration.ofMillis(50));
        assertThat(lines).singleElement().satisfies(l -> assertThat(l).startsWith("INFO")
                .contains("client 127.0.0.1:" + port + " went away before its answer (FunctionTimeout) was sent")
                .contains("POST /functions/sleepy/invoke"));
        assertThat(records.noisy()).isEmpty();
        answersFromTheSameInstance();
    }

    @Test
    void aClientGoneHalfWayThroughItsRequestIsOneInfoLine() throws Exception {
        for (boolean reset : new boolean[] {false, true}) {
            records.all.clear();
            int port = sendAndLeave("/functions/sleeper/invoke", "{\"ms\":1}", 4, reset, 300);
            List<String> lines = Eventually.poll(records::disconnectLines, l -> !l.isEmpty(), Duration.ofSeconds(10),
                    Duration.ofMillis(50));
            assertThat(lines).as(reset ? "reset" : "closed").singleElement().satisfies(l -> assertThat(l).startsWith("INFO")
                    .contains("client 127.0.0.1:" + port + " went away while its request was read")
                    .contains("POST /functions/sleeper/invoke"));
            assertThat(records.noisy()).isEmpty();
        }
        answersFromTheSameInstance();
    }
}
