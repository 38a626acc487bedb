package dev.thaw.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Fake CRIU image directories, one embedded S3 server for the whole run, and store factories. */
final class TestSupport implements BeforeAllCallback {
    static final int MIB = 1 << 20;
    private static final AtomicInteger BUCKETS = new AtomicInteger();
    private static volatile EmbeddedS3 shared;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL).getOrComputeIfAbsent("embedded-s3", k -> {
            Path dir;
            try {
                dir = Files.createTempDirectory("thaw-store-s3-");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            shared = EmbeddedS3.start(dir);
            return new SharedServer(shared, dir);
        }, SharedServer.class);
    }

    /** Closed by JUnit at the end of the run: stops the server (its threads are not daemons) and removes its data. */
    private record SharedServer(EmbeddedS3 server, Path dir) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            server.close();
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** @return a configuration for a fresh bucket on the shared server */
    static S3Config freshBucket() {
        return shared.config("test-" + BUCKETS.incrementAndGet());
    }

    static byte[] secret(int seed) {
        byte[] s = new byte[32];
        new SplittableRandom(seed).nextBytes(s);
        return s;
    }

    static SnapshotStore.Builder store(Path root, S3Config s3, int chunkSize) {
        return SnapshotStore.builder().root(root).secret(secret(1)).chunkSize(chunkSize).memoryBytes(64L * MIB)
                .diskBytes(256L * MIB).s3(s3).fetchThreads(4).gcGrace(Duration.ZERO)
                .uploadBackoff(Duration.ofMillis(50), Duration.ofMillis(400)).s3CallTimeout(Duration.ofSeconds(10));
    }

    /**
     * Writes a directory shaped like a CRIU dump: small protobuf-ish files and a pages file of
     * 8 MiB + 3 pages with an all-zero 2 MiB region and a 2 MiB region repeating the first one
     * (chunk-aligned for every chunk size up to 2 MiB), the rest random.
     */
    static Path images(Path dir, long seed) {
        try {
            Files.createDirectories(dir);
            SplittableRandom r = new SplittableRandom(seed);
            Files.write(dir.resolve("inventory.img"), bytes(r, 42));
            Files.write(dir.resolve("core-1.img"), bytes(r, 3_001));
            Files.write(dir.resolve("mm-1.img"), bytes(r, 9_000));
            Files.write(dir.resolve("pagemap-1.img"), bytes(r, 700));
            Files.write(dir.resolve("empty.img"), new byte[0]);
            byte[] pages = new byte[8 * MIB + 3 * 4096];
            byte[] head = bytes(r, 2 * MIB);
            System.arraycopy(head, 0, pages, 0, head.length);
            System.arraycopy(head, 0, pages, 4 * MIB, head.length);
            byte[] tail = bytes(r, pages.length - 6 * MIB);
            System.arraycopy(tail, 0, pages, 6 * MIB, tail.length);
            Files.write(dir.resolve("pages-1.img"), pages);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] bytes(SplittableRandom r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    static void assertSameFiles(Path expected, Path actual) {
        for (Path f : files(expected)) {
            Path other = actual.resolve(f.getFileName().toString());
            assertThat(other).exists();
            try {
                assertThat(Files.mismatch(f, other)).as("first difference in %s", other).isEqualTo(-1L);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        assertThat(files(actual)).hasSameSizeAs(files(expected));
    }

    static List<Path> files(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static MeteredTier tier(SnapshotStore store, String name) {
        return ((DefaultSnapshotStore) store).tiers().stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow();
    }

    static void clearMemory(SnapshotStore store) {
        ((MemoryTier) tier(store, "memory").unwrap()).clear();
    }

    /** Deletes every chunk object from the tier named {@code name}. */
    static void dropChunks(SnapshotStore store, String name) {
        MeteredTier t = tier(store, name);
        t.list("c/").forEach(i -> t.unwrap().delete(i.key()));
    }

    static int chunkObjects(SnapshotStore store, String name) {
        return tier(store, name).list("c/").size();
    }

    /** @return the scheduling policy in a {@code /proc/.../stat} file (its 41st field; SCHED_IDLE is 5) */
    static int schedulingPolicy(Path stat) {
        return dev.thaw.linux.ProcStat.read(stat).orElseThrow(() -> new java.io.UncheckedIOException(
                new java.io.IOException("no thread at " + stat))).policy();
    }

    /**
     * Waits (at most 10 s) until no boost of the process's starvation guard is on: during one, idle
     * threads run at normal priority and a thread that becomes idle work stays normal until it ends.
     */
    static void awaitNoBoost() throws InterruptedException {
        for (long end = System.nanoTime() + 10_000_000_000L; Background.guard().boosted() && System.nanoTime() < end; ) {
            Thread.sleep(20);
        }
    }
}
