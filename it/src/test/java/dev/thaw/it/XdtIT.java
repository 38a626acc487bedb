package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.client.InvocationResult;
import dev.thaw.core.Json;
import dev.thaw.node.XdtSettings;
import dev.thaw.node.xdt.Reference;
import dev.thaw.node.xdt.ReferenceCodec;
import dev.thaw.node.xdt.TransferKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Expedited data transfers on one node, with real instances: a producer (thaw handler, streamed
 * put) and a consumer (an AWS Lambda RequestHandler, streamed read), each bad reference refused end
 * to end with its reason, buffers freed after use and at expiry, a full buffer refusing a put and
 * taking the next one as soon as a read has freed the room.
 */
class XdtIT {
    private static TestNode node;

    @BeforeAll
    static void start() throws IOException {
        node = new TestNode(b -> b);
        node.deploy("xdt-producer", TestNode.TF + "XdtProducer::handle");
        node.deploy("xdt-consumer", TestNode.TF + "XdtConsumer::handleRequest");
        node.deploy("xdt-snoop", TestNode.TF + "XdtConsumer::handleRequest");
    }

    @AfterAll
    static void stop() throws IOException {
        node.close();
    }

    /** The fixtures' data, computed here independently: SplittableRandom(seed) in 64 KiB blocks. */
    static String sha256(long bytes, long seed) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        SplittableRandom random = new SplittableRandom(seed);
        byte[] block = new byte[64 * 1024];
        for (long left = bytes; left > 0; left -= block.length) {
            random.nextBytes(block);
            sha.update(block, 0, (int) Math.min(block.length, left));
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    static JsonNode call(TestNode on, String function, String json) throws IOException {
        InvocationResult r = on.invoke(function, json);
        assertThat(r.status()).as(r.bodyAsString()).isEqualTo(200);
        return Json.mapper().readTree(r.body());
    }

    static String produce(TestNode on, String json) throws IOException {
        JsonNode p = call(on, "xdt-producer", json);
        assertThat(p.has("reference")).as(p.toString()).isTrue();
        return p.path("reference").asText();
    }

    static JsonNode consume(TestNode on, String function, String reference) throws IOException {
        return call(on, function, "{\"reference\":\"" + reference + "\"}");
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(longs = {1024, 10L << 20, 100L << 20})
    void aProducerAndAConsumerInAChainGetByteIdenticalData(long bytes) throws Exception {
        JsonNode p = call(node, "xdt-producer", "{\"bytes\":" + bytes + ",\"seed\":" + bytes + "}");
        String expected = sha256(bytes, bytes);
        assertThat(p.path("sha256").asText()).isEqualTo(expected);
        String ref = p.path("reference").asText();
        assertThat(ref).startsWith("xdt2.").hasSizeLessThan(400);

        JsonNode c = consume(node, "xdt-consumer", ref);
        assertThat(c.path("refused").isMissingNode()).as(c.toString()).isTrue();
        assertThat(c.path("bytes").asLong()).isEqualTo(bytes);
        assertThat(c.path("sha256").asText()).isEqualTo(expected);

        String size = bytes == 1024 ? "1.0 KB" : (bytes >> 20) + ".0 MB";
        node.awaitLog("xdt-producer", "XDT Put: 1 (" + size);
        node.awaitLog("xdt-consumer", "XDT Get: 1 (" + size);
        assertThat(node.client.logs("xdt-consumer", 20)).contains(", local)");
        assertThat(node.client.metrics()).contains("thaw_xdt_get_bytes_total{function_name=\"xdt-consumer\",source=\"local\"}");
    }

    @Test
    void aByteArrayPutAndAFanOutOfThreeReadsFromRestoredClones() throws Exception {
        // the consumer has its snapshot before the fan-out, whichever test ran first: its clones are what is tested
        consume(node, "xdt-consumer", produce(node, "{\"bytes\":1024,\"seed\":1}"));
        String ref = produce(node, "{\"bytes\":" + (10 << 20) + ",\"seed\":7,\"array\":true,\"reads\":3}");
        String expected = sha256(10 << 20, 7);
        node.client.evict("xdt-consumer");
        List<Future<InvocationResult>> reads = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(3)) {
            for (int i = 0; i < 3; i++) {
                reads.add(pool.submit(() -> node.invoke("xdt-consumer", "{\"reference\":\"" + ref + "\"}")));
            }
        }
        int restored = 0;
        for (Future<InvocationResult> r : reads) {
            JsonNode c = Json.mapper().readTree(r.get().body());
            assertThat(c.path("sha256").asText()).as(c.toString()).isEqualTo(expected);
            restored += r.get().startKind() == dev.thaw.core.StartKind.RESTORE ? 1 : 0;
        }
        assertThat(restored).as("reads from clones restored after the snapshot, with their own Runtime API address")
                .isPositive();
        JsonNode fourth = consume(node, "xdt-consumer", ref);
        assertThat(fourth.path("refused").asText()).isEqualTo("USED_UP");
    }

    @Test
    void everyKindOfBadReferenceIsRefusedEndToEndWithItsReason(@org.junit.jupiter.api.io.TempDir Path keys) throws Exception {
        // malformed
        JsonNode malformed = consume(node, "xdt-consumer", "s3-bucket-key-0001");
        assertThat(malformed.path("refused").asText()).isEqualTo("MALFORMED");
        assertThat(malformed.path("message").asText()).contains("not an XDT reference");

        // forged: well formed, but signed with a key that is not the cluster's
        Path otherKey = keys.resolve("xdt.key");
        ReferenceCodec forger = new ReferenceCodec(TransferKey.load(otherKey, true));
        String forged = forger.seal(new Reference(node.node.nodeId(), node.node.transferAddress(),
                "00112233445566778899aabbccddeeff", "xdt-producer", 10, System.currentTimeMillis() + 60_000, 1,
                List.of(), false));
        JsonNode f = consume(node, "xdt-consumer", forged);
        assertThat(f.path("refused").asText()).isEqualTo("FORGED");
        assertThat(f.path("message").asText()).contains("not made by a node of this cluster");

        // altered: a real reference with one character of its signed body changed
        String real = produce(node, "{\"bytes\":1000,\"seed\":1}");
        int at = 5 + 80;
        String altered = real.substring(0, at) + (real.charAt(at) == 'A' ? 'B' : 'A') + real.substring(at + 1);
        JsonNode a = consume(node, "xdt-consumer", altered);
        assertThat(a.path("refused").asText()).isEqualTo("ALTERED");
        assertThat(a.path("message").asText()).contains("changed after a node of this cluster made it");
        assertThat(consume(node, "xdt-consumer", real).path("bytes").asLong()).as("the original still reads").isEqualTo(1000);

        // already used
        JsonNode used = consume(node, "xdt-consumer", real);
        assertThat(used.path("refused").asText()).isEqualTo("USED_UP");
        assertThat(used.path("message").asText()).contains("already read as many times as it allows");

        // foreign: the reader is the function whose instance asks, whatever the function says
        String restricted = produce(node, "{\"bytes\":1000,\"seed\":2,\"readers\":[\"xdt-consumer\"]}");
        JsonNode foreign = consume(node, "xdt-snoop", restricted);
        assertThat(foreign.path("refused").asText()).isEqualTo("FOREIGN");
        assertThat(foreign.path("message").asText()).contains("function 'xdt-snoop' may not read")
                .contains("xdt-consumer only");
        assertThat(consume(node, "xdt-consumer", restricted).path("bytes").asLong()).isEqualTo(1000);

        // expired
        String shortLived = produce(node, "{\"bytes\":1000,\"seed\":3,\"ttlMs\":1000}");
        Thread.sleep(1_500);
        JsonNode expired = consume(node, "xdt-consumer", shortLived);
        assertThat(expired.path("refused").asText()).isEqualTo("EXPIRED");
        assertThat(expired.path("message").asText()).contains("expired at");

        for (JsonNode refusal : List.of(malformed, f, a, used, foreign, expired)) {
            assertThat(refusal.has("sha256")).as("no data with a refusal").isFalse();
        }
        assertThat(node.client.metrics()).contains("thaw_xdt_refusals_total{reason=\"FORGED\"}")
                .contains("thaw_xdt_refusals_total{reason=\"ALTERED\"}");
    }

    @Test
    void buffersAreFreedAfterUseAndAfterExpiry() throws Exception {
        awaitEmpty(node);
        String used = produce(node, "{\"bytes\":" + (4 << 20) + ",\"seed\":4}");
        String unread = produce(node, "{\"bytes\":" + (3 << 20) + ",\"seed\":5,\"ttlMs\":2000}");
        JsonNode held = node.client.health().path("transfers");
        assertThat(held.path("objects").asInt()).isEqualTo(2);
        assertThat(held.path("memoryBytes").asLong()).isGreaterThanOrEqualTo(7L << 20);
        consume(node, "xdt-consumer", used);
        // freed once its last bytes are out, which the consumer may have answered with already
        assertThat(awaitObjects(node, 1).path("objects").asInt()).as("freed once used").isEqualTo(1);
        JsonNode after = awaitEmpty(node);
        assertThat(after.path("objects").asInt()).as("freed at expiry").isZero();
        assertThat(after.path("memoryBytes").asLong()).isZero();
        assertThat(after.path("diskBytes").asLong()).isZero();
        assertThat(consume(node, "xdt-consumer", unread).path("refused").asText()).isEqualTo("EXPIRED");
        assertThat(node.client.metrics()).contains("thaw_xdt_buffer_bytes{tier=\"memory\"} 0.0");
    }

    static JsonNode awaitEmpty(TestNode on) throws Exception {
        return awaitObjects(on, 0);
    }

    /** @return the node's transfer buffers, once they hold {@code objects} objects (or after 15 s) */
    static JsonNode awaitObjects(TestNode on, int objects) throws Exception {
        return Eventually.poll(() -> on.client.health().path("transfers"), t -> t.path("objects").asInt() == objects,
                Duration.ofSeconds(15), Duration.ofMillis(20));
    }

    @Test
    void aFullBufferRefusesAPutClearly() throws Exception {
        try (TestNode small = new TestNode(b -> b.xdt(XdtSettings.DEFAULT.withBuffers(1L << 20, 2L << 20)))) {
            small.deploy("xdt-producer", TestNode.TF + "XdtProducer::handle");
            small.deploy("xdt-consumer", TestNode.TF + "XdtConsumer::handleRequest");
            String first = produce(small, "{\"bytes\":" + (2 << 20) + ",\"seed\":1}");
            JsonNode refused = call(small, "xdt-producer", "{\"bytes\":" + (2 << 20) + ",\"seed\":2}");
            assertThat(refused.path("refused").asText()).as(refused.toString()).isEqualTo("FULL");
            assertThat(refused.path("message").asText()).contains("transfer buffers are full").contains("of 1.0 MiB")
                    .contains("of 2.0 MiB").contains("--xdt-memory-mib");
            assertThat(small.client.health().path("transfers").path("objects").asInt()).isEqualTo(1);
            // a chain's rhythm: each put comes right after the read that frees the room it needs
            String held = first;
            for (int step = 0; step < 10; step++) {
                assertThat(consume(small, "xdt-consumer", held).path("bytes").asLong()).isEqualTo(2 << 20);
                held = produce(small, "{\"bytes\":" + (2 << 20) + ",\"seed\":" + (3 + step) + "}");
                assertThat(held).as("room again once read, step " + step).startsWith("xdt2.");
            }
        }
    }
}
