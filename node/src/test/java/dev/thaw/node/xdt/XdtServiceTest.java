package dev.thaw.node.xdt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.protocol.RuntimeProtocol.Headers;
import dev.thaw.store.ScratchObjects;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The transfers of two nodes in one JVM, with real transfer listeners on loopback and the
 * instances' side played by in-memory exchanges: local hand-off, pulls from the other node,
 * refusals, a producer that is gone, durable copies.
 */
class XdtServiceTest {
    private static final byte[] KEY = "the-cluster-key-the-cluster-key-".getBytes(StandardCharsets.US_ASCII);
    @TempDir
    Path dir;
    private final Fakes.Clock clock = new Fakes.Clock();
    private final Fakes.Timers timers = new Fakes.Timers(clock);
    private final List<XdtService> started = new ArrayList<>();
    private final MemoryObjects s3 = new MemoryObjects();

    /** An S3 namespace in memory. */
    static final class MemoryObjects implements ScratchObjects {
        final Map<String, byte[]> objects = new ConcurrentHashMap<>();

        @Override
        public void put(String key, Supplier<InputStream> data, long length) {
            try (InputStream in = data.get()) {
                byte[] b = in.readAllBytes();
                assertThat(b).hasSize((int) length);
                objects.put(key, b);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        @Override
        public Optional<InputStream> open(String key) {
            return Optional.ofNullable(objects.get(key)).map(ByteArrayInputStream::new);
        }

        @Override
        public void delete(String key) {
            objects.remove(key);
        }

        @Override
        public List<Info> list(String prefix) {
            return objects.entrySet().stream().filter(e -> e.getKey().startsWith(prefix))
                    .map(e -> new Info(e.getKey(), e.getValue().length, java.time.Instant.EPOCH)).toList();
        }
    }

    private XdtService node(String id, Map<String, String> peers, boolean durable) throws IOException {
        XdtService s = XdtService.start(new XdtService.Settings(id, "127.0.0.1", 0, Optional.empty(), 8L << 20, 64L << 20,
                        dir.resolve(id), Duration.ofHours(1), 1 << 20, Duration.ofSeconds(1)),
                TransferKey.of(KEY), NodeDirectory.of(peers), durable ? Optional.of(s3) : Optional.empty(),
                "no store in this test", new XdtMetrics(new PrometheusRegistry()), clock, timers);
        started.add(s);
        return s;
    }

    @AfterEach
    void stop() {
        started.forEach(XdtService::close);
    }

    private static byte[] data(int n) {
        byte[] b = new byte[n];
        new Random(n).nextBytes(b);
        return b;
    }

    private String put(XdtService node, String producer, byte[] data, Map<String, String> headers) throws IOException {
        Fakes.Exchange ex = new Fakes.Exchange(data, true);
        headers.forEach(ex::header);
        node.put(new XdtService.Caller(producer, null), ex);
        assertThat(ex.status).as(ex.text()).isEqualTo(201);
        return ex.text();
    }

    private Fakes.Exchange get(XdtService node, String reader, String token, TransferTally tally) throws IOException {
        Fakes.Exchange ex = new Fakes.Exchange(new byte[0], false);
        node.get(new XdtService.Caller(reader, tally), token, ex);
        return ex;
    }

    private static void assertRefused(Fakes.Exchange ex, Refusal.Reason reason, String... words) {
        assertThat(ex.status).as(ex.text()).isEqualTo(reason.status());
        assertThat(ex.headers).containsEntry(Headers.XDT_REASON, reason.name());
        for (String w : words) {
            assertThat(ex.text()).contains(w);
        }
    }

    @Test
    void aLocalReadHandsTheBufferOverAndIsCountedOnce() throws IOException {
        XdtService a = node("node-a", Map.of(), false);
        byte[] data = data(3 << 20);
        String token = put(a, "producer", data, Map.of());
        TransferTally tally = new TransferTally();
        Fakes.Exchange ex = get(a, "consumer", token, tally);
        assertThat(ex.status).isEqualTo(200);
        assertThat(ex.responseLength).as("a Content-Length, not chunked").isEqualTo(data.length);
        assertThat(ex.data()).isEqualTo(data);
        assertThat(tally.reportFields()).startsWith("XDT Get: 1 (3.0 MB,").endsWith("local)");
        assertThat(a.stats().objects()).isZero();
        assertRefused(get(a, "consumer", token, null), Refusal.Reason.USED_UP, "already read");
    }

    @Test
    void optionsTheNodeDoesNotAllowAreInvalid() throws IOException {
        XdtService a = node("node-a", Map.of(), false);
        for (Map<String, String> bad : List.of(Map.of(Headers.XDT_TTL_MS, "7200000"), Map.of(Headers.XDT_READS, "0"),
                Map.of(Headers.XDT_READERS, "ok,not a name"))) {
            Fakes.Exchange ex = new Fakes.Exchange(data(10), false);
            bad.forEach(ex::header);
            a.put(new XdtService.Caller("p", null), ex);
            assertRefused(ex, Refusal.Reason.INVALID);
        }
        Fakes.Exchange durable = new Fakes.Exchange(data(10), false).header(Headers.XDT_DURABLE, "true");
        a.put(new XdtService.Caller("p", null), durable);
        assertRefused(durable, Refusal.Reason.UNAVAILABLE, "durable transfers need the node's S3 store", "no store in this test");
    }

    @Test
    void readersAndReadsAreEnforced() throws IOException {
        XdtService a = node("node-a", Map.of(), false);
        String token = put(a, "producer", data(100), Map.of(Headers.XDT_READERS, "c1,c2", Headers.XDT_READS, "2"));
        assertRefused(get(a, "other", token, null), Refusal.Reason.FOREIGN, "function 'other' may not read");
        assertThat(get(a, "c1", token, null).status).isEqualTo(200);
        assertThat(get(a, "c2", token, null).status).isEqualTo(200);
        assertRefused(get(a, "c1", token, null), Refusal.Reason.USED_UP);
        clock.advance(Duration.ofMinutes(6));
        assertRefused(get(a, "c1", token, null), Refusal.Reason.EXPIRED, "expired at");
    }

    @Test
    void aConsumerOnAnotherNodePullsStraightFromTheProducersNode() throws IOException {
        XdtService a = node("node-a", Map.of(), false);
        XdtService b = node("node-b", Map.of("node-a", a.address()), false);
        byte[] data = data(5 << 20);
        String token = put(a, "producer", data, Map.of());
        TransferTally tally = new TransferTally();
        Fakes.Exchange ex = get(b, "consumer", token, tally);
        assertThat(ex.status).isEqualTo(200);
        assertThat(ex.responseLength).as("chunked, verified in the trailer").isEqualTo(-1);
        assertThat(ex.data()).isEqualTo(data);
        assertThat(ex.trailers).containsEntry(Headers.XDT_STATUS.toLowerCase(java.util.Locale.ROOT), "ok");
        assertThat(tally.reportFields()).endsWith("remote)");
        // the producer's node frees the object once its trailer is out, which the consumer may read first
        assertThat(awaitObjects(a, 0)).as("freed on the producer's node").isZero();
        assertRefused(get(b, "consumer", token, null), Refusal.Reason.USED_UP, "node 'node-a' refused the read");
    }

    @Test
    void withoutADirectoryEntryTheSignedAddressIsUsed() throws IOException {
        XdtService a = node("node-a", Map.of(), false);
        XdtService b = node("node-b", Map.of(), false);
        byte[] data = data(1000);
        assertThat(get(b, "consumer", put(a, "producer", data, Map.of()), null).data()).isEqualTo(data);
    }

    @Test
    void aProducerNodeThatIsGoneLosesNonDurableDataAndSaysWhichNode() throws IOException {
        XdtService a = node("node-a", Map.of(), false);
        XdtService b = node("node-b", Map.of("node-a", a.address()), false);
        String token = put(a, "producer", data(1000), Map.of());
        a.close();
        assertRefused(get(b, "consumer", token, null), Refusal.Reason.LOST, "node 'node-a'", "cannot be reached",
                "not durable", "run function 'producer' again");
    }

    @Test
    void aDurablePutIsReadFromS3WhenItsNodeIsGoneAndStillCountsItsReads() throws Exception {
        XdtService a = node("node-a", Map.of(), true);
        XdtService b = node("node-b", Map.of("node-a", a.address()), true);
        byte[] data = data(2 << 20);
        String token = put(a, "producer", data, Map.of(Headers.XDT_DURABLE, "true"));
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (s3.objects.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(s3.objects).hasSize(1);
        assertThat(s3.objects.values().iterator().next()).as("encrypted in S3").isNotEqualTo(data);
        a.close();
        TransferTally tally = new TransferTally();
        Fakes.Exchange ex = get(b, "consumer", token, tally);
        assertThat(ex.status).isEqualTo(200);
        assertThat(ex.data()).isEqualTo(data);
        assertThat(ex.trailers).containsEntry("thaw-xdt-status", "ok");
        assertThat(tally.reportFields()).endsWith("s3)");
        assertRefused(get(b, "consumer", token, null), Refusal.Reason.USED_UP);
    }

    @Test
    void aDamagedDurableCopyIsCaughtByItsSignedHash() throws Exception {
        XdtService a = node("node-a", Map.of(), true);
        XdtService b = node("node-b", Map.of("node-a", a.address()), true);
        byte[] data = data(100_000);
        String token = put(a, "producer", data, Map.of(Headers.XDT_DURABLE, "true"));
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (s3.objects.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        a.close();
        s3.objects.values().iterator().next()[50_000] ^= 1;
        Fakes.Exchange ex = get(b, "consumer", token, null);
        ex.data();
        assertThat(ex.trailers.get("thaw-xdt-status")).startsWith("CORRUPTED").contains("SHA-256");
    }

    @Test
    void theUploadOfADurableCopyIsDeletedOnceItsObjectIsUsedUp() throws Exception {
        XdtService a = node("node-a", Map.of(), true);
        String token = put(a, "producer", data(1000), Map.of(Headers.XDT_DURABLE, "true"));
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (s3.objects.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(get(a, "consumer", token, null).status).isEqualTo(200);
        deadline = System.nanoTime() + 10_000_000_000L;
        while (!s3.objects.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(s3.objects).isEmpty();
    }

    @Test
    void aPullNotSignedByANodeOfTheClusterIsRefused() throws IOException {
        XdtService a = node("node-a", Map.of(), false);
        String token = put(a, "producer", data(1000), Map.of());
        String id = new ReferenceCodec(TransferKey.of(KEY)).open(token).objectId();
        int port = Integer.parseInt(a.address().substring(a.address().lastIndexOf(':') + 1));
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.getOutputStream().write(("GET /xdt/v1/objects/" + id + " HTTP/1.1\r\nThaw-Xdt-Reference: " + token
                    + "\r\nThaw-Xdt-Reader: anyone\r\nThaw-Xdt-Node: me\r\nThaw-Xdt-Time: " + clock.epochMillis()
                    + "\r\nThaw-Xdt-Signature: made-up\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(answer).startsWith("HTTP/1.1 403").contains("Thaw-Xdt-Reason: FORGED")
                    .contains("not signed by a node of this cluster");
        }
        assertThat(a.stats().objects()).as("nothing was read").isEqualTo(1);
    }

    /** @return the objects {@code service} holds, once they are {@code expected} or 5 s have passed */
    private static int awaitObjects(XdtService service, int expected) throws IOException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (service.stats().objects() != expected && System.nanoTime() < deadline) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted");
            }
        }
        return service.stats().objects();
    }
}
