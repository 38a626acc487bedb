package dev.thaw.lazy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The daemon against real CRIU and real processes: one image of {@link LazyTarget} (a JVM holding a
 * 64 MB array) is dumped once and restored by every test.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LazyRestoreTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final int PAGE = 4096;

    private CriuFixture fixture;
    private ImageIndex index;
    private PageSource files;
    private String expectedSum;
    private final AtomicInteger workDirs = new AtomicInteger();

    @BeforeAll
    void dumpTarget() throws Exception {
        CriuFixture.assumeCriu();
        fixture = CriuFixture.dumpedTarget();
        index = ImageIndex.load(fixture.images);
        files = PageSource.files(fixture.images);
        expectedSum = "sum=" + Long.toHexString(LazyTarget.expectedArrayChecksum((int) (CriuFixture.ARRAY_MB * LazyTarget.MB / 8)));
        assertThat(fixture.readyLine).startsWith(expectedSum + " ");
    }

    @AfterAll
    void cleanUp() throws Exception {
        if (files != null) {
            files.close();
        }
        if (fixture != null) {
            fixture.close();
        }
        Process pgrep = new ProcessBuilder("pgrep", "-f", CriuFixture.TARGET_CLASS).redirectErrorStream(true).start();
        String strays = new String(pgrep.getInputStream().readAllBytes()).strip();
        pgrep.waitFor();
        for (String pid : strays.lines().toList()) {
            ProcessHandle.of(Long.parseLong(pid.strip())).ifPresent(CriuFixture::killTree);
        }
        assertThat(strays).as("stray target processes").isEmpty();
    }

    // ------------------------------------------------------------------ 6: the image index

    @Test
    @Order(1)
    void imageIndexTilesThePagesFileAndFindsPages() throws IOException {
        assertThat(index.pids()).containsExactly(1);
        long pagesId = index.pagesId(1);
        long fileSize = Files.size(fixture.images.resolve("pages-" + pagesId + ".img"));
        assertThat(index.totalPresentBytes()).isEqualTo(fileSize);

        long expectedOffset = 0;
        long previousEnd = 0;
        for (ImageIndex.Entry e : index.entries(1)) {
            assertThat(e.vaddr()).as("sorted, disjoint").isGreaterThanOrEqualTo(previousEnd);
            previousEnd = e.end();
            if (e.present()) {
                assertThat(e.offset()).as("entries tile the pages file").isEqualTo(expectedOffset);
                assertThat(index.lookup(1, e.vaddr())).hasValue(e.offset());
                assertThat(index.lookup(1, e.end() - 1)).hasValue(e.offset() + e.bytes() - PAGE);
                expectedOffset += e.bytes();
            }
        }
        assertThat(expectedOffset).isEqualTo(fileSize);
        assertThat(index.lookup(1, 0x1000)).isEmpty();

        long nonLazy = index.nonLazyRanges().stream().mapToLong(ImageIndex.ByteRange::length).sum();
        assertThat(nonLazy + index.lazyBytes()).isEqualTo(fileSize);
        assertThat(index.lazyBytes()).as("the 64 MB array is lazy").isGreaterThan(CriuFixture.ARRAY_MB * LazyTarget.MB);
        assertThat(index.nonLazyRanges()).allSatisfy(r -> assertThat(r.offset() + r.length()).isLessThanOrEqualTo(fileSize));
    }

    @Test
    @Order(2)
    void imageIndexLookupFindsTheTargetsBytes() {
        long regionAddress = Long.parseUnsignedLong(readyField("regionAddress"), 16);
        OptionalLong offset = index.lookup(1, regionAddress + 3 * PAGE + 100);
        assertThat(offset).isPresent();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment page = arena.allocate(PAGE, PAGE);
            files.read(index.pagesId(1), offset.getAsLong(), page);
            long firstLong = (3L * PAGE) / 8;
            assertThat(page.get(ValueLayout.JAVA_LONG, 0)).isEqualTo(LazyTarget.regionValue(firstLong));
        }
        WorkingSet ws = new WorkingSet(List.of(new WorkingSet.Run(1, regionAddress + PAGE, 2), new WorkingSet.Run(1, regionAddress, 1)));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bytes = index.read(ws, files, arena);
            assertThat(bytes.byteSize()).isEqualTo(3 * PAGE);
            assertThat(bytes.get(ValueLayout.JAVA_LONG, 0)).isEqualTo(LazyTarget.regionValue(PAGE / 8));
            assertThat(bytes.get(ValueLayout.JAVA_LONG, 2 * PAGE)).isEqualTo(LazyTarget.regionValue(0));
        }
        assertThat(index.ranges(ws)).hasSize(2);
    }

    // ------------------------------------------------------------------ 1: lazy restore

    @Test
    @Order(3)
    void lazyRestoreServesThePagesFromTheSource() throws Exception {
        Path work = newWorkDir();
        try (LazyPagesServer server = LazyPages.start(LazyPages.Options.of(work, index, files));
             CriuFixture.Restore restore = fixture.restore(work, true)) {
            assertThat(server.socket()).exists();
            assertThat(server.awaitRestored(WAIT)).as("RSTF received").isTrue();
            assertThat(restore.command("sum", WAIT)).isEqualTo(expectedSum);

            LazyPagesServer.Stats stats = server.stats();
            assertThat(stats.tasks()).isEqualTo(1);
            assertThat(stats.faultsServed()).isGreaterThan(CriuFixture.ARRAY_MB * LazyTarget.MB / PAGE);
            assertThat(stats.pagesServedOnDemand()).isEqualTo(stats.faultsServed());
            assertThat(stats.bytesFromSource()).isGreaterThanOrEqualTo(stats.pagesServedOnDemand() * PAGE);
            assertThat(stats.failure()).isEmpty();
            System.out.println("lazy restore: " + stats);

            server.finishInBackground();
            awaitTrue(() -> server.stats().finished(), "background copy finished");
            assertThat(server.stats().lazyPagesRemaining()).isZero();
            assertThat(server.stats().pagesCopiedInBackground()).isPositive();
            assertThat(restore.command("sum", WAIT)).as("still right without the daemon").isEqualTo(expectedSum);
        }
        assertThat(work.resolve("lazy-pages.socket")).doesNotExist();
    }

    @Test
    @Order(3)
    void anImageWhosePagesFileHoldsOnlyTheNonLazyRangesRestoresFromTheSource() throws Exception {
        Path sparse = fixture.root.resolve("img-sparse");
        materializeNonLazyOnly(fixture.images, sparse);
        ImageIndex sparseIndex = ImageIndex.load(sparse);
        assertThat(sparseIndex.entries(1)).isEqualTo(index.entries(1));

        Path work = newWorkDir();
        // the lazy bytes exist only behind the page source, which reads the original image
        try (LazyPagesServer server = LazyPages.start(LazyPages.Options.of(work, sparseIndex, files).withFaultAroundPages(16));
             CriuFixture.Restore restore = fixture.restore(sparse, work, true)) {
            assertThat(restore.command("sum", WAIT)).isEqualTo(expectedSum);
            assertThat(server.stats().failure()).isEmpty();
        }
    }

    /** What the node does before a lazy restore: every image file, but of the page files only what CRIU reads itself. */
    private void materializeNonLazyOnly(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path f : files.filter(f -> !f.getFileName().toString().startsWith("pages-")).toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        long pagesId = index.pagesId(1);
        Path original = from.resolve("pages-" + pagesId + ".img");
        try (var in = java.nio.channels.FileChannel.open(original);
             var out = java.nio.channels.FileChannel.open(to.resolve(original.getFileName()),
                     java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
            for (ImageIndex.ByteRange r : index.nonLazyRanges()) {
                in.transferTo(r.offset(), r.length(), out.position(r.offset()));
            }
        }
        long materialized = index.nonLazyRanges().stream().mapToLong(ImageIndex.ByteRange::length).sum();
        assertThat(materialized).isLessThan(Files.size(original) / 4);
        ImageIndex.Entry lazy = index.entries(1).stream().filter(ImageIndex.Entry::lazy).findFirst().orElseThrow();
        try (Arena arena = Arena.ofConfined(); PageSource local = PageSource.files(to)) {
            MemorySegment page = arena.allocate(PAGE, PAGE);
            local.read(pagesId, lazy.offset(), page);
            assertThat(page.mismatch(arena.allocate(PAGE))).as("a lazy page is a hole locally").isEqualTo(-1);
        }
    }

    // ------------------------------------------------------------------ 2: record, then prefetch

    @Test
    @Order(4)
    void recordedWorkingSetInstalledUpFrontLeavesFewerFaults() throws Exception {
        Recorded first = recordWorkingSet();
        assertThat(first.workingSet().pages()).isGreaterThan(CriuFixture.ARRAY_MB * LazyTarget.MB / PAGE);

        WorkingSet decoded = WorkingSet.decode(first.workingSet().encode());
        assertThat(decoded).isEqualTo(first.workingSet());

        Path work = newWorkDir();
        try (Arena arena = Arena.ofShared()) {
            CompletableFuture<MemorySegment> bytes = CompletableFuture.supplyAsync(() -> index.read(decoded, files, arena));
            LazyPages.Options options = LazyPages.Options.of(work, index, files).withPrefetch(new LazyPages.Prefetch(decoded, bytes));
            try (LazyPagesServer server = LazyPages.start(options); CriuFixture.Restore restore = fixture.restore(work, true)) {
                assertThat(restore.command("sum", WAIT)).isEqualTo(expectedSum);
                LazyPagesServer.Stats stats = server.stats();
                System.out.println("recording restore: " + first.stats());
                System.out.println("prefetch restore:  " + stats);
                assertThat(stats.pagesInstalledUpFront()).isPositive();
                assertThat(stats.faultsServed()).isLessThan(first.stats().faultsServed());
                assertThat(stats.failure()).isEmpty();
            }
        }
    }

    private record Recorded(WorkingSet workingSet, LazyPagesServer.Stats stats) {
    }

    private Recorded recordWorkingSet() throws Exception {
        return recordWorkingSet("sum", expectedSum);
    }

    private Recorded recordWorkingSet(String command, String expected) throws Exception {
        Path work = newWorkDir();
        try (LazyPagesServer server = LazyPages.start(LazyPages.Options.of(work, index, files).withRecord(true));
             CriuFixture.Restore restore = fixture.restore(work, true)) {
            assertThat(restore.command(command, WAIT)).isEqualTo(expected);
            LazyPagesServer.Stats stats = server.stats();
            WorkingSet ws = server.recorded(); // the JVM goes on faulting: at least what the stats saw
            assertThat(ws.pages()).isGreaterThanOrEqualTo(stats.pagesServedOnDemand());
            return new Recorded(ws, stats);
        }
    }

    // ------------------------------------------------------------------ 3: threads, heap, mremap, madvise, munmap, fork

    @Test
    @Order(5)
    void restoredTargetThatChurnsItsMemoryStaysCorrect() throws Exception {
        Path work = newWorkDir();
        try (LazyPagesServer server = LazyPages.start(LazyPages.Options.of(work, index, files).withFaultAroundPages(16));
             CriuFixture.Restore restore = fixture.restore(work, true)) {
            String answer = restore.command("churn", WAIT);
            assertThat(answer).isEqualTo("threads=ok heap=ok remove=ok remap=ok unmap=ok rest=ok fork=ok");
            assertThat(restore.command("sum", WAIT)).isEqualTo(expectedSum);
            LazyPagesServer.Stats stats = server.stats();
            System.out.println("churn restore: " + stats);
            assertThat(stats.tasks()).as("the forked child got a task of its own").isEqualTo(2);
            assertThat(stats.mappingEvents()).as("at least FORK, REMAP, REMOVE, UNMAP").isGreaterThanOrEqualTo(4);
            assertThat(stats.pagesServedOnDemand()).isGreaterThan(stats.faultsServed());
            assertThat(stats.failure()).isEmpty();
        }
    }

    // ------------------------------------------------------------------ 4: a failing page source

    @Test
    @Order(6)
    void failingSourceIsReportedAndNothingHangs() throws Exception {
        Path work = newWorkDir();
        AtomicLong pagesRead = new AtomicLong();
        PageSource failing = (pagesId, offset, dst) -> {
            if (pagesRead.addAndGet(dst.byteSize() / PAGE) > 200) {
                throw new IllegalStateException("store unavailable");
            }
            files.read(pagesId, offset, dst);
        };
        CountDownLatch failed = new CountDownLatch(1);
        AtomicReference<String> reason = new AtomicReference<>();
        AtomicInteger calls = new AtomicInteger();
        LazyPages.Options options = LazyPages.Options.of(work, index, failing).withFailureHandler(r -> {
            calls.incrementAndGet();
            reason.set(r);
            failed.countDown();
        });
        LazyPagesServer server = LazyPages.start(options);
        try (CriuFixture.Restore restore = fixture.restore(work, true)) {
            restore.pid(WAIT);
            LazyTarget.writeAtomically(fixture.commands.resolve("cmd-" + restore.pid(WAIT)), "sum");
            assertThat(failed.await(WAIT.toSeconds(), TimeUnit.SECONDS)).as("failure reported").isTrue();
            assertThat(reason.get()).contains("pid 1", "fault at 0x", "pages-1.img", "store unavailable");
            Thread.sleep(200);
            assertThat(restore.answered()).as("no answer computed from missing pages").isFalse();
        }
        CompletableFuture<Void> closing = CompletableFuture.runAsync(server::close);
        closing.get(10, TimeUnit.SECONDS);
        assertThat(server.stats().failure()).hasValue(reason.get());
        assertThat(calls).hasValue(1);
        assertThat(work.resolve("lazy-pages.socket")).doesNotExist();
    }

    @Test
    @Order(6)
    void closingWhileALiveInstanceLacksPagesIsReportedButNotAfterItWasKilled() throws Exception {
        List<String> reasons = new java.util.concurrent.CopyOnWriteArrayList<>();
        AtomicReference<CriuFixture.Restore> instance = new AtomicReference<>();
        Path work = newWorkDir();
        // like the node: the handler kills the instance, before its userfaultfd is closed
        CriuFixture.Restore alive = startAndAnswer(work, reason -> {
            reasons.add(reason);
            instance.get().close();
        }, instance);
        try {
            serverOf(work).close(); // the instance lives on and still lacks pages
            assertThat(reasons).singleElement().asString().contains("pid 1", "still lacked lazy pages", "must be killed");
            boolean stillAlive = ProcessHandle.of(alive.pid(WAIT)).map(ProcessHandle::isAlive).orElse(false);
            assertThat(stillAlive).as("killed by the handler before its uffd was closed").isFalse();
        } finally {
            alive.close();
        }

        reasons.clear();
        Path other = newWorkDir();
        CriuFixture.Restore restore = startAndAnswer(other, reasons::add, new AtomicReference<>());
        restore.close(); // killed first, as the node does
        serverOf(other).close();
        assertThat(reasons).as("a dead instance is not reported").isEmpty();
    }

    @Test
    @Order(6)
    void aWorkDirectoryTooLongForASocketAddressIsRefused() {
        Path deep = fixture.root.resolve("d".repeat(120));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LazyPages.start(LazyPages.Options.of(deep, index, files)))
                .isInstanceOf(LazyPagesException.class).hasMessageContaining("more than the 107");
    }

    private final Map<Path, LazyPagesServer> servers = new java.util.concurrent.ConcurrentHashMap<>();

    private CriuFixture.Restore startAndAnswer(Path work, java.util.function.Consumer<String> onFailure,
                                               AtomicReference<CriuFixture.Restore> started) throws Exception {
        LazyPagesServer server = LazyPages.start(LazyPages.Options.of(work, index, files).withFailureHandler(onFailure));
        servers.put(work, server);
        CriuFixture.Restore restore = fixture.restore(work, true);
        started.set(restore);
        assertThat(restore.command("part", WAIT)).startsWith("part=");
        return restore;
    }

    private LazyPagesServer serverOf(Path work) {
        return servers.remove(work);
    }

    // ------------------------------------------------------------------ 5: concurrent clones

    @Test
    @Order(7)
    void threeLazyRestoresOfOneImageAtOnce() throws Exception {
        List<LazyPagesServer> servers = new ArrayList<>();
        List<CriuFixture.Restore> restores = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                Path work = newWorkDir();
                servers.add(LazyPages.start(LazyPages.Options.of(work, index, files).withFaultAroundPages(4)));
                restores.add(fixture.restore(work, true));
            }
            List<CompletableFuture<String>> answers = restores.stream()
                    .map(r -> CompletableFuture.supplyAsync(() -> {
                        try {
                            return r.command("sum", WAIT);
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    })).toList();
            for (CompletableFuture<String> a : answers) {
                assertThat(a.get(30, TimeUnit.SECONDS)).isEqualTo(expectedSum);
            }
            assertThat(restores.stream().map(r -> {
                try {
                    return r.pid(WAIT);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }).distinct()).hasSize(3);
            assertThat(servers).allSatisfy(s -> assertThat(s.stats().faultsServed()).isPositive());
        } finally {
            restores.forEach(CriuFixture.Restore::close);
            servers.forEach(LazyPagesServer::close);
        }
    }

    // ------------------------------------------------------------------ measurements (printed, not asserted)

    @Test
    @Order(8)
    void measuresRestoreToAnswer() throws Exception {
        String part = "part=" + Long.toHexString(LazyTarget.expectedArrayChecksum((int) (CriuFixture.ARRAY_MB * LazyTarget.MB / 8 / 16)));
        measure("sum", expectedSum, "reads the whole 64 MB array");
        measure("part", part, "reads 4 MB of the array");
    }

    private void measure(String command, String expected, String what) throws Exception {
        WorkingSet ws = recordWorkingSet(command, expected).workingSet();
        Map<String, List<Long>> millis = new java.util.LinkedHashMap<>();
        for (int run = 0; run < 3; run++) {
            millis.computeIfAbsent("eager (plain criu restore)", k -> new ArrayList<>()).add(timeEager(command, expected));
            millis.computeIfAbsent("lazy, 1 page per fault", k -> new ArrayList<>()).add(timeLazy(command, expected, 1, null));
            millis.computeIfAbsent("lazy, 16 pages per fault", k -> new ArrayList<>()).add(timeLazy(command, expected, 16, null));
            millis.computeIfAbsent("lazy + prefetched working set", k -> new ArrayList<>()).add(timeLazy(command, expected, 1, ws));
        }
        System.out.printf("criu restore start -> answer to \"%s\" (%s); image %d MB, %d MB of it lazy, working set %d MB%n",
                command, what, index.totalPresentBytes() >> 20, index.lazyBytes() >> 20, ws.bytes() >> 20);
        millis.forEach((mode, ms) -> System.out.printf("  %-32s median %4d ms  runs %s%n", mode,
                ms.stream().sorted().toList().get(ms.size() / 2), ms));
    }

    private long timeEager(String command, String expected) throws Exception {
        try (CriuFixture.Restore restore = fixture.restore(newWorkDir(), false)) {
            assertThat(restore.command(command, WAIT)).isEqualTo(expected);
            return elapsedMillis(restore);
        }
    }

    /** Like the node: the server and the working set's fetch start first, then criu. */
    private long timeLazy(String command, String expected, int faultAround, WorkingSet prefetch) throws Exception {
        Path work = newWorkDir();
        try (Arena arena = Arena.ofShared()) {
            LazyPages.Options options = LazyPages.Options.of(work, index, files).withFaultAroundPages(faultAround);
            if (prefetch != null) {
                options = options.withPrefetch(new LazyPages.Prefetch(prefetch,
                        CompletableFuture.supplyAsync(() -> index.read(prefetch, files, arena))));
            }
            try (LazyPagesServer server = LazyPages.start(options); CriuFixture.Restore restore = fixture.restore(work, true)) {
                assertThat(restore.command(command, WAIT)).isEqualTo(expected);
                long ms = elapsedMillis(restore);
                System.out.println("  " + command + " faultAround=" + faultAround + (prefetch != null ? " prefetch" : "") + ": "
                        + ms + " ms, " + server.stats());
                return ms;
            }
        }
    }

    private static long elapsedMillis(CriuFixture.Restore restore) {
        return (System.nanoTime() - restore.startNanos) / 1_000_000;
    }

    // ------------------------------------------------------------------ helpers

    private Path newWorkDir() {
        return fixture.workDir("w" + workDirs.incrementAndGet());
    }

    private String readyField(String name) {
        Map<String, String> fields = java.util.Arrays.stream(fixture.readyLine.split(" "))
                .map(f -> f.split("=", 2)).collect(Collectors.toMap(f -> f[0], f -> f[1]));
        return fields.get(name);
    }

    private static void awaitTrue(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            Thread.sleep(5);
        }
    }
}
