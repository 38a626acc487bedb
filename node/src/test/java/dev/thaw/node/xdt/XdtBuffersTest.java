package dev.thaw.node.xdt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Buffer accounting: memory then disk, reads, expiry on a fake clock, bounds, no growth. */
class XdtBuffersTest {
    private static final int MIB = 1 << 20;
    @TempDir
    Path dir;
    private final Fakes.Clock clock = new Fakes.Clock();
    private final List<String> freed = new ArrayList<>();
    private XdtBuffers buffers;

    private XdtBuffers buffers(long memory, long disk) {
        buffers = new XdtBuffers(new XdtBuffers.Settings(memory, disk, dir.resolve("buffers"), MIB, 2L * MIB), clock,
                e -> freed.add(e.id()));
        return buffers;
    }

    @AfterEach
    void close() {
        if (buffers != null) {
            buffers.close();
        }
    }

    private static byte[] data(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private XdtBuffers.Entry put(String id, byte[] data, long lengthHint, int reads, Duration ttl) {
        XdtBuffers.Writer w = buffers.writer(id, lengthHint);
        for (int off = 0; off < data.length; off += 100_000) {
            w.write(data, off, Math.min(100_000, data.length - off));
        }
        return w.commit(clock.epochMillis() + ttl.toMillis(), reads, null);
    }

    private static byte[] readAll(XdtBuffers.Lease lease) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        lease.transferTo(Channels.newChannel(out));
        return out.toByteArray();
    }

    @Test
    void spillsToDiskBeyondTheMemoryBoundAndReadsBackEveryByte() throws IOException {
        buffers(2L * MIB, 64L * MIB);
        byte[] data = data(5 * MIB + 123, 1);
        put("a", data, -1, 1, Duration.ofMinutes(5));
        XdtBuffers.Stats s = buffers.stats();
        // a first chunk of 64 KiB (the length was not known), then standard chunks while they fit under 2 MiB
        assertThat(s.memoryBytes()).isEqualTo(64 * 1024 + MIB);
        assertThat(s.diskBytes()).isEqualTo(data.length - s.memoryBytes());
        try (var files = Files.list(dir.resolve("buffers"))) {
            assertThat(Files.size(files.findFirst().orElseThrow())).isEqualTo(s.diskBytes());
        }
        try (XdtBuffers.Lease lease = buffers.claim("a", "test")) {
            assertThat(readAll(lease)).isEqualTo(data);
            assertThat(lease.stream().readAllBytes()).as("the stream an upload reads").isEqualTo(data);
            lease.completed();
        }
        assertThat(buffers.stats().memoryBytes()).isZero();
        assertThat(buffers.stats().diskBytes()).isZero();
        try (var files = Files.list(dir.resolve("buffers"))) {
            assertThat(files.toList()).as("the spill file is deleted").isEmpty();
        }
    }

    @Test
    void aSmallPutOfKnownLengthTakesOnlyItsOwnSize() {
        buffers(64L * MIB, 0);
        put("small", data(1000, 2), 1000, 1, Duration.ofMinutes(1));
        assertThat(buffers.stats().memoryBytes()).isEqualTo(1000);
        assertThat(buffers.stats().diskBytes()).isZero();
    }

    @Test
    void freedOnceUsedUpAndAFurtherReadIsUsedUp() throws IOException {
        buffers(64L * MIB, 64L * MIB);
        byte[] data = data(3 * MIB, 3);
        put("b", data, data.length, 2, Duration.ofMinutes(5));
        for (int i = 0; i < 2; i++) {
            try (XdtBuffers.Lease lease = buffers.claim("b", "put by function 'p'")) {
                assertThat(readAll(lease)).isEqualTo(data);
                lease.completed();
            }
        }
        assertThat(freed).containsExactly("b");
        assertThat(buffers.stats().memoryBytes()).isZero();
        assertThat(buffers.stats().objects()).isZero();
        assertThatThrownBy(() -> buffers.claim("b", "put by function 'p'")).isInstanceOf(Refusal.class)
                .satisfies(e -> assertThat(((Refusal) e).reason()).isEqualTo(Refusal.Reason.USED_UP))
                .hasMessageContaining("already read as many times as it allows");
    }

    @Test
    void aReadThatDoesNotCompleteGivesItsClaimBack() {
        buffers(64L * MIB, 0);
        put("c", data(1000, 4), 1000, 1, Duration.ofMinutes(5));
        XdtBuffers.Lease first = buffers.claim("c", "x");
        assertThatThrownBy(() -> buffers.claim("c", "x")).satisfies(
                e -> assertThat(((Refusal) e).reason()).isEqualTo(Refusal.Reason.USED_UP));
        first.close(); // the reader went away mid-transfer
        try (XdtBuffers.Lease again = buffers.claim("c", "x")) {
            again.completed();
        }
        assertThat(buffers.stats().objects()).isZero();
    }

    @Test
    void expiredObjectsAreFreedByTheSweeperOnAFakeClock() {
        buffers(64L * MIB, 64L * MIB);
        Fakes.Timers timers = new Fakes.Timers(clock);
        buffers.startSweeping(timers, Duration.ofSeconds(1));
        put("short", data(2 * MIB, 5), -1, 1, Duration.ofSeconds(10));
        put("long", data(MIB, 6), -1, 1, Duration.ofMinutes(10));
        timers.advance(Duration.ofSeconds(9));
        assertThat(buffers.stats().objects()).isEqualTo(2);
        timers.advance(Duration.ofSeconds(1));
        assertThat(freed).containsExactly("short");
        assertThat(buffers.stats().objects()).isEqualTo(1);
        assertThat(buffers.stats().memoryBytes()).as("64 KiB first, then a standard chunk").isEqualTo(64 * 1024 + MIB);
        assertThatThrownBy(() -> buffers.claim("short", "x")).satisfies(
                e -> assertThat(((Refusal) e).reason()).isEqualTo(Refusal.Reason.LOST));
        timers.advance(Duration.ofMinutes(10));
        assertThat(freed).containsExactly("short", "long");
        assertThat(buffers.stats().memoryBytes()).isZero();
        assertThat(timers.pending()).as("the sweeper goes on").isEqualTo(1);
    }

    @Test
    void anObjectBeingReadWhenItExpiresIsFreedWhenTheReadEnds() throws IOException {
        buffers(64L * MIB, 0);
        byte[] data = data(MIB, 7);
        put("d", data, -1, 2, Duration.ofSeconds(5));
        XdtBuffers.Lease lease = buffers.claim("d", "x");
        clock.advance(Duration.ofSeconds(6));
        buffers.sweep();
        assertThat(buffers.stats().objects()).as("held by the read").isEqualTo(1);
        assertThat(readAll(lease)).isEqualTo(data);
        lease.completed();
        lease.close();
        assertThat(buffers.stats().objects()).isZero();
        assertThat(buffers.stats().memoryBytes()).isZero();
    }

    @Test
    void aPutWhenMemoryAndDiskAreFullIsRefusedClearlyAndFreesWhatItWrote() {
        buffers(2L * MIB, 3L * MIB);
        put("fills", data(4 * MIB, 8), -1, 1, Duration.ofMinutes(5));
        XdtBuffers.Writer w = buffers.writer("overflows", -1);
        byte[] more = data(2 * MIB, 9);
        assertThatThrownBy(() -> w.write(more, 0, more.length)).isInstanceOf(Refusal.class)
                .satisfies(e -> assertThat(((Refusal) e).reason()).isEqualTo(Refusal.Reason.FULL))
                .hasMessageContaining("transfer buffers are full").hasMessageContaining("memory")
                .hasMessageContaining("of 2.0 MiB").hasMessageContaining("of 3.0 MiB").hasMessageContaining("--xdt-memory-mib");
        assertThat(buffers.stats().objects()).isEqualTo(1);
        assertThat(buffers.stats().memoryBytes() + buffers.stats().diskBytes()).isLessThanOrEqualTo(5L * MIB);
        assertThatThrownBy(() -> buffers.writer("known", 2L * MIB)).as("refused before a byte when the length is known")
                .satisfies(e -> assertThat(((Refusal) e).reason()).isEqualTo(Refusal.Reason.FULL));
        try (XdtBuffers.Lease lease = buffers.claim("fills", "x")) {
            lease.completed();
        }
        put("fits-again", data(4 * MIB, 10), -1, 1, Duration.ofMinutes(5));
    }

    @Test
    void aPutWaitsForAnObjectBeingReadForTheLastTimeRatherThanSpillOrBeRefused() throws Exception {
        buffers(2L * MIB, 0);
        byte[] first = data(2 * MIB, 11);
        put("first", first, first.length, 1, Duration.ofMinutes(5));
        XdtBuffers.Lease lastRead = buffers.claim("first", "x");
        assertThat(readAll(lastRead)).isEqualTo(first); // the reader has every byte; the lease is not closed yet
        lastRead.completed();
        byte[] next = data(MIB, 12);
        var put = java.util.concurrent.CompletableFuture.supplyAsync(() -> put("next", next, -1, 1, Duration.ofMinutes(5)));
        Thread.sleep(200);
        assertThat(put).as("waits while the last read is under way").isNotDone();
        lastRead.close();
        put.get(10, java.util.concurrent.TimeUnit.SECONDS);
        // the put of unknown length: a first chunk of 64 KiB, then a standard one (no disk here: it would have been refused)
        assertThat(buffers.stats().memoryBytes()).isEqualTo(64 * 1024 + MIB);
        try (XdtBuffers.Lease lease = buffers.claim("next", "x")) {
            assertThat(readAll(lease)).isEqualTo(next);
            lease.completed();
        }
    }

    @Test
    void aPutWaitsForAReadInProgressOnlyForALimitedTime() throws Exception {
        buffers(2L * MIB, 0);
        put("held", data(2 * MIB, 13), 2L * MIB, 1, Duration.ofMinutes(5));
        try (XdtBuffers.Lease slowReader = buffers.claim("held", "x")) {
            long start = System.nanoTime();
            assertThatThrownBy(() -> put("next", data(MIB, 14), -1, 1, Duration.ofMinutes(5)))
                    .satisfies(e -> assertThat(((Refusal) e).reason()).isEqualTo(Refusal.Reason.FULL));
            assertThat(Duration.ofNanos(System.nanoTime() - start)).as("refused after waiting for the read")
                    .isGreaterThanOrEqualTo(XdtBuffers.DRAIN_WAIT.minusMillis(50));
            assertThatThrownBy(() -> buffers.writer("known", MIB)).as("a put of known length waits and is refused too")
                    .satisfies(e -> assertThat(((Refusal) e).reason()).isEqualTo(Refusal.Reason.FULL));
            slowReader.completed();
        }
        assertThat(buffers.stats().memoryBytes()).isZero();
    }

    @Test
    void aThousandTransfersLeaveNothingBehind() throws IOException {
        buffers(8L * MIB, 16L * MIB);
        Random sizes = new Random(11);
        for (int i = 0; i < 1000; i++) {
            int size = i % 100 == 0 ? 9 * MIB : sizes.nextInt(300_000);
            byte[] data = data(size, i);
            boolean known = i % 2 == 0;
            put("t" + i, data, known ? size : -1, 1, Duration.ofMinutes(5));
            try (XdtBuffers.Lease lease = buffers.claim("t" + i, "x")) {
                ByteArrayOutputStream sink = new ByteArrayOutputStream();
                lease.transferTo(Channels.newChannel(sink));
                assertThat(sink.size()).isEqualTo(size);
                lease.completed();
            }
            XdtBuffers.Stats s = buffers.stats();
            assertThat(s.memoryBytes()).isZero();
            assertThat(s.diskBytes()).isZero();
            assertThat(s.objects()).isZero();
            assertThat(s.pooledBytes()).isLessThanOrEqualTo(2L * MIB);
        }
        assertThat(buffers.stats().tombstones()).isEqualTo(1000);
        clock.advance(Duration.ofMinutes(6));
        buffers.sweep();
        assertThat(buffers.stats().tombstones()).as("used-up markers go at their expiry").isZero();
        try (var files = Files.list(dir.resolve("buffers"))) {
            assertThat(files.toList()).isEmpty();
        }
    }

    @Test
    void aPinIsNotARead() throws IOException {
        buffers(64L * MIB, 0);
        byte[] data = data(1000, 12);
        put("e", data, 1000, 1, Duration.ofMinutes(5));
        XdtBuffers.Lease pin = buffers.pin("e").orElseThrow();
        try (XdtBuffers.Lease read = buffers.claim("e", "x")) {
            read.completed();
        }
        assertThat(buffers.stats().objects()).as("the upload still reads it").isEqualTo(1);
        assertThat(pin.stream().readAllBytes()).isEqualTo(data);
        pin.close();
        assertThat(buffers.stats().objects()).isZero();
        assertThat(buffers.pin("e")).isEmpty();
    }

    @Test
    void leftoverFilesOfAStoppedNodeAreDeletedAtStart() throws IOException {
        Files.createDirectories(dir.resolve("buffers"));
        Files.write(dir.resolve("buffers").resolve("old.buf"), new byte[10]);
        buffers(MIB, MIB);
        try (var files = Files.list(dir.resolve("buffers"))) {
            assertThat(files.toList()).isEmpty();
        }
    }

    @Test
    void statsNeverShowAnObjectGoneWhileItsBytesAreStillCounted() throws Exception {
        int size = 64 * 1024; // one chunk of exactly this size per object: its length is known
        buffers = new XdtBuffers(new XdtBuffers.Settings(64L * MIB, 0, dir.resolve("buffers"), MIB, 0), clock, e -> { });
        int objects = 400;
        for (int i = 0; i < objects; i++) {
            put("o" + i, data(size, i), size, 1, Duration.ofMinutes(5));
        }
        List<String> inconsistent = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.atomic.AtomicBoolean reading = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread reader = Thread.ofPlatform().start(() -> {
            while (reading.get()) {
                XdtBuffers.Stats st = buffers.stats();
                if (st.memoryBytes() != (long) st.objects() * size) {
                    inconsistent.add(st.objects() + " objects with " + st.memoryBytes() + " bytes");
                }
            }
        });
        try (var readers = java.util.concurrent.Executors.newFixedThreadPool(2)) {
            for (int i = 0; i < objects; i++) {
                String id = "o" + i;
                readers.submit(() -> {
                    try (XdtBuffers.Lease lease = buffers.claim(id, "test")) {
                        lease.completed();
                    }
                });
            }
        }
        reading.set(false);
        reader.join();
        assertThat(inconsistent).as("objects and their bytes leave together").isEmpty();
        assertThat(buffers.stats().objects()).isZero();
        assertThat(buffers.stats().memoryBytes()).isZero();
    }
}
