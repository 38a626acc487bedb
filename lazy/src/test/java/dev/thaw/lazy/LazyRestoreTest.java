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
    void criuStartedBeforeItsDaemonWaitsInTheSocketsBacklog() throws Exception {
        Path work = newWorkDir();
        LazyPagesSocket socket = LazyPages.listen(work);
        LazyPagesServer server = null;
        try (CriuFixture.Restore restore = fixture.restore(work, true)) {
            // long enough for CRIU to connect and hand over its userfaultfds with nobody accepting
            Thread.sleep(500);
            server = LazyPages.start(LazyPages.Options.of(work, index, files), socket);
            assertThat(server.awaitRestored(WAIT)).as("RSTF received").isTrue();
            assertThat(restore.command("sum", WAIT)).isEqualTo(expectedSum);
            assertThat(server.stats().tasks()).isEqualTo(1);
            assertThat(server.stats().faultsServed()).isPositive();
        } finally {
            if (server != null) {
                server.close();
            } else {
                socket.close();
            }
        }
        assertThat(work.resolve("lazy-pages.socket")).doesNotExist();
    }

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
            assertThat(server.whenEnded().toCompletableFuture()).as("serving until every page is in").isNotDone();

            server.finishInBackground();
            server.whenEnded().toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(server.stats().finished()).as("ended because it installed everything").isTrue();
            assertThat(server.stats().lazyPagesRemaining()).isZero();
            assertThat(server.stats().pagesCopiedInBackground()).isPositive();
            assertThat(restore.command("sum", WAIT)).as("still right without the daemon").isEqualTo(expectedSum);
        }
        assertThat(work.resolve("lazy-pages.socket")).doesNotExist();
    }

    @Test
    @Order(3)
    void anImageWhosePagesFileHoldsOnlyTheNonLazyRangesRestoresFromTheSource() throws Exception {
        Path sparse = sparseImage("img-sparse");
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

    /**
     * CRIU 4.2 marks no page lazy when a thread's stack pointer is page-aligned (see LazyMarks); the
     * image it then writes is this one's with every PE_LAZY flag cleared. The repair must give back
     * exactly the lazy pages CRIU marks otherwise, and CRIU must then restore the image lazily.
     */
    @Test
    @Order(3)
    void lazyMarksCriuLeftOutArePutBackAndTheImageRestoresLazily() throws Exception {
        Path unmarked = copyOfImage("img-unmarked");
        Path pagemap = unmarked.resolve("pagemap-1.img");
        List<ImageFile.Message> records = ImageFile.records(pagemap, ImageFile.PAGEMAP_MAGIC);
        List<ImageFile.PagemapEntry> withoutLazy = records.subList(1, records.size()).stream()
                .map(m -> ImageFile.PagemapEntry.decode(m, pagemap))
                .map(e -> new ImageFile.PagemapEntry(e.vaddr(), e.pages(), e.flags() & ~ImageIndex.PE_LAZY, e.wideCount()))
                .toList();
        LazyMarks.write(pagemap, records.getFirst(), withoutLazy);
        assertThat(ImageIndex.load(unmarked).lazyBytes()).as("what the bug leaves").isZero();

        LazyMarks.Repair repair = LazyMarks.repair(unmarked);
        ImageIndex repaired = ImageIndex.load(unmarked);
        assertThat(repair.tasks()).isEqualTo(1);
        assertThat(repair.pages() * PAGE).isEqualTo(index.lazyBytes());
        assertThat(lazyRanges(repaired)).as("the same pages lazy as CRIU marks them").isEqualTo(lazyRanges(index));
        assertThat(repaired.totalPresentBytes()).isEqualTo(index.totalPresentBytes());
        assertThat(LazyMarks.repair(unmarked)).as("a marked image is left alone").isEqualTo(new LazyMarks.Repair(0, 0));
        assertThat(LazyMarks.repair(fixture.images)).isEqualTo(new LazyMarks.Repair(0, 0));

        Path work = newWorkDir();
        try (PageSource source = PageSource.files(unmarked);
             LazyPagesServer server = LazyPages.start(LazyPages.Options.of(work, repaired, source));
             CriuFixture.Restore restore = fixture.restore(unmarked, work, true)) {
            assertThat(restore.command("sum", WAIT)).isEqualTo(expectedSum);
            assertThat(server.stats().faultsServed()).as("the array faults: it is lazy again")
                    .isGreaterThan(CriuFixture.ARRAY_MB * LazyTarget.MB / PAGE);
            assertThat(server.stats().failure()).isEmpty();
        }
    }

    /**
     * The target JVM has written pages in private file mappings (its CDS archive, libjvm's data).
     * Rewritten by PrivateFileCopies, those pages are lazy: the daemon serves the ones the target
     * touches (they are in the working set it records) and installs the rest; the image also
     * restores eagerly, CRIU reading every page itself.
     */
    @Test
    @Order(3)
    void copiedOnWriteFilePagesMadeLazyAreServedByTheDaemonAndTheImageStillRestoresEagerly() throws Exception {
        Path converted = copyOfImage("img-file-copies");
        PrivateFileCopies.Conversion conversion = PrivateFileCopies.makeLazy(converted);
        ImageIndex convertedIndex = ImageIndex.load(converted);
        System.out.println("private file copies made lazy: " + conversion);
        assertThat(conversion.pages()).as("the written pages of the CDS archive and libjvm: hundreds").isGreaterThan(256);
        assertThat(convertedIndex.lazyBytes() - index.lazyBytes()).isEqualTo(conversion.pages() * PAGE);
        assertThat(convertedIndex.totalPresentBytes()).isEqualTo(index.totalPresentBytes());
        List<List<Long>> newlyLazy = new ArrayList<>(lazyRanges(convertedIndex));
        newlyLazy.removeAll(lazyRanges(index));

        Path work = newWorkDir();
        try (PageSource source = PageSource.files(converted);
             LazyPagesServer server = LazyPages.start(LazyPages.Options.of(work, convertedIndex, source).withRecord(true));
             CriuFixture.Restore restore = fixture.restore(converted, work, true)) {
            assertThat(restore.command("sum", WAIT)).isEqualTo(expectedSum);
            assertThat(server.recorded().runs()).as("faults served in the converted mappings")
                    .anyMatch(run -> newlyLazy.stream().anyMatch(r -> run.vaddr() >= r.get(0) && run.vaddr() < r.get(1)));
            server.finishInBackground();
            server.whenEnded().toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(server.stats().lazyPagesRemaining()).isZero();
            assertThat(server.stats().failure()).isEmpty();
            assertThat(restore.command("sum", WAIT)).as("still right without the daemon").isEqualTo(expectedSum);
        }
        try (CriuFixture.Restore eager = fixture.restore(converted, newWorkDir(), false)) {
            assertThat(eager.command("sum", WAIT)).isEqualTo(expectedSum);
        }
    }

    /** @return a copy of the dumped image, for a test that rewrites it */
    private Path copyOfImage(String name) throws IOException {
        Path copy = fixture.root.resolve(name);
        Files.createDirectories(copy);
        try (var all = Files.list(fixture.images)) {
            for (Path f : all.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        return copy;
    }

    /** @return the task's lazy pages as merged {@code [start, end)} address ranges */
    private static List<List<Long>> lazyRanges(ImageIndex image) {
        List<List<Long>> ranges = new ArrayList<>();
        for (ImageIndex.Entry e : image.entries(1)) {
            if (!e.lazy()) {
                continue;
            }
            if (!ranges.isEmpty() && ranges.getLast().get(1) == e.vaddr()) {
                ranges.set(ranges.size() - 1, List.of(ranges.getLast().get(0), e.end()));
            } else {
                ranges.add(List.of(e.vaddr(), e.end()));
            }
        }
        return ranges;
    }

    /** @return a copy of the dumped image whose pages files hold only the non-lazy ranges, as the node keeps it */
    private Path sparseImage(String name) throws IOException {
        Path sparse = fixture.root.resolve(name);
        materializeNonLazyOnly(fixture.images, sparse); // the lazy bytes are only in the source
        return sparse;
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
                assertThat(server.awaitInstalled(WAIT)).as("working set installed").isTrue();
                LazyPagesServer.Stats installed = server.stats();
                assertThat(installed.prefetchInstallTime()).as("awaitInstalled returns after the install").isPositive();
                assertThat(installed.installedAfter()).isPresent();
                assertThat(installed.pagesInstalledUpFront()).isPositive();
                assertThat(installed.finished()).as("the rest stays lazy").isFalse();
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

    /**
     * Bytes that arrive front to back (as the store's readInto delivers them) are installed as they
     * arrive; when the fetch fails half-way, what arrived stays installed and the rest is served on demand.
     */
    @Test
    @Order(4)
    void aWorkingSetArrivingInPiecesIsInstalledAsItArrivesAndSurvivesAFetchFailingHalfWay() throws Exception {
        WorkingSet ws = recordWorkingSet().workingSet().inAddressOrder();
        for (boolean failHalfWay : new boolean[] {false, true}) {
            Path work = newWorkDir();
            try (Arena arena = Arena.ofShared()) {
                MemorySegment all = index.read(ws, files, arena);
                LazyPages.Arrival arrival = new LazyPages.Arrival(arena.allocate(all.byteSize(), PAGE));
                CompletableFuture<MemorySegment> bytes = new CompletableFuture<>();
                LazyPages.Options options = LazyPages.Options.of(work, index, files)
                        .withPrefetch(new LazyPages.Prefetch(ws, bytes, java.util.Optional.of(arrival)));
                try (LazyPagesServer server = LazyPages.start(options); CriuFixture.Restore restore = fixture.restore(work, true)) {
                    Thread fetcher = Thread.ofPlatform().start(() -> deliverInSteps(all, arrival, bytes, failHalfWay));
                    assertThat(server.awaitInstalled(WAIT)).as("settled, installed or not").isTrue();
                    fetcher.join();
                    assertThat(restore.command("sum", WAIT)).isEqualTo(expectedSum);
                    LazyPagesServer.Stats stats = server.stats();
                    System.out.println("arriving prefetch (fail half-way: " + failHalfWay + "): " + stats);
                    assertThat(stats.failure()).isEmpty();
                    if (failHalfWay) {
                        assertThat(stats.pagesInstalledUpFront()).as("what arrived went in")
                                .isBetween(ws.pages() / 4, ws.pages() * 3 / 4);
                        assertThat(stats.faultsServed()).as("the rest faulted").isPositive();
                    } else {
                        // the target runs meanwhile: pages it faults on before their bytes arrive come from the source
                        assertThat(stats.pagesInstalledUpFront()).isGreaterThan(ws.pages() * 9 / 10);
                        assertThat(stats.prefetchInstallTime()).isPositive();
                    }
                }
            }
        }
    }

    /** Copies the bytes over in eight steps, 5 ms apart, telling the arrival; fails after four when asked. */
    private static void deliverInSteps(MemorySegment all, LazyPages.Arrival arrival, CompletableFuture<MemorySegment> done,
                                       boolean failHalfWay) {
        long step = (all.byteSize() / 8 + PAGE - 1) / PAGE * PAGE;
        for (long at = 0; at < all.byteSize(); at += step) {
            if (failHalfWay && at >= 4 * step) {
                done.completeExceptionally(new IllegalStateException("the store went away"));
                return;
            }
            long n = Math.min(step, all.byteSize() - at);
            MemorySegment.copy(all, at, arrival.segment(), at, n);
            arrival.arrived(at + n);
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        done.complete(arrival.segment());
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

    // ------------------------------------------------------------------ stream-all and awaitInstalled

    @Test
    @Order(4)
    void streamAllInstallsEveryLazyPageFromTheSourceBeforeTheTargetNeedsThem() throws Exception {
        Path sparse = sparseImage("img-stream");
        ImageIndex sparseIndex = ImageIndex.load(sparse);
        long lazyPages = sparseIndex.lazyBytes() / PAGE;
        List<long[]> reads = new java.util.concurrent.CopyOnWriteArrayList<>(); // {offset, length}
        PageSource recording = (pagesId, offset, dst) -> {
            reads.add(new long[] {offset, dst.byteSize()});
            files.read(pagesId, offset, dst);
        };
        Path work = newWorkDir();
        try (LazyPagesServer server = LazyPages.start(LazyPages.Options.of(work, sparseIndex, recording).withStreamAll(true));
             CriuFixture.Restore restore = fixture.restore(sparse, work, true)) {
            assertThat(server.awaitInstalled(WAIT)).as("every lazy page streamed").isTrue();
            LazyPagesServer.Stats installed = server.stats();
            System.out.println("stream-all restore, installed: " + installed);
            assertThat(installed.streamComplete()).isTrue();
            assertThat(installed.finished()).as("the userfaultfds are closed").isTrue();
            assertThat(installed.lazyPagesRemaining()).isZero();
            assertThat(installed.installedAfter()).isPresent();
            assertThat(installed.pagesStreamed()).as("nearly every lazy page came from the stream")
                    .isGreaterThan(lazyPages * 9 / 10);
            assertThat(installed.pagesStreamed() + installed.pagesServedOnDemand()).isLessThanOrEqualTo(lazyPages);
            assertThat(installed.faultsServed()).as("the array was not faulted in")
                    .isLessThan(CriuFixture.ARRAY_MB * LazyTarget.MB / PAGE / 10);

            assertThat(restore.command("sum", WAIT)).isEqualTo(expectedSum);
            LazyPagesServer.Stats after = server.stats();
            assertThat(after.faultsServed()).as("no fault after the stream completed").isEqualTo(installed.faultsServed());
            assertThat(after.failure()).isEmpty();

            // the stream reads big pieces in file order (a fault reads one page)
            List<long[]> big = reads.stream().filter(r -> r[1] >= 64 * 1024).toList();
            assertThat(big.stream().mapToLong(r -> r[1]).sum()).as("bytes read in pieces of 64 KB or more")
                    .isGreaterThan(sparseIndex.lazyBytes() * 8 / 10);
            assertThat(big.stream().mapToLong(r -> r[1]).max().orElse(0)).isEqualTo((long) LazyPages.MAX_FAULT_AROUND_PAGES * PAGE);
            for (int i = 1; i < big.size(); i++) {
                assertThat(big.get(i)[0]).as("in file order").isGreaterThanOrEqualTo(big.get(i - 1)[0]);
            }
        }
    }

    @Test
    @Order(4)
    void awaitInstalledAnswersAtOnceWhenThereIsNothingToWaitFor() throws Exception {
        try (LazyPagesServer plain = LazyPages.start(LazyPages.Options.of(newWorkDir(), index, files))) {
            long start = System.nanoTime();
            assertThat(plain.awaitInstalled(WAIT)).as("no prefetch, no stream: nothing to install up front").isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(1));
            assertThat(plain.stats().installedAfter()).isEmpty();
        }
        WorkingSet ws = new WorkingSet(List.of(new WorkingSet.Run(1, index.entries(1).stream().filter(ImageIndex.Entry::lazy)
                .findFirst().orElseThrow().vaddr(), 4)));
        CompletableFuture<MemorySegment> failing = CompletableFuture.failedFuture(new IllegalStateException("store down"));
        CompletableFuture<MemorySegment> late = new CompletableFuture<>();
        for (CompletableFuture<MemorySegment> bytes : List.of(failing, late)) {
            LazyPages.Options options = LazyPages.Options.of(newWorkDir(), index, files).withPrefetch(new LazyPages.Prefetch(ws, bytes));
            try (LazyPagesServer server = LazyPages.start(options); Arena arena = Arena.ofConfined()) {
                if (bytes == late) {
                    assertThat(server.awaitInstalled(Duration.ofMillis(100))).as("bytes not there yet").isFalse();
                    bytes.complete(arena.allocate(PAGE)); // short: the working set needs 4 pages
                }
                long start = System.nanoTime();
                assertThat(server.awaitInstalled(WAIT)).as("a failed or short prefetch falls back to on-demand at once").isTrue();
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(1));
                assertThat(server.stats().installedAfter()).isPresent();
                assertThat(server.stats().pagesInstalledUpFront()).isZero();
            }
        }
        LazyPagesServer streaming = LazyPages.start(LazyPages.Options.of(newWorkDir(), index, files).withStreamAll(true));
        assertThat(streaming.awaitInstalled(Duration.ofMillis(100))).as("no restore: nothing streamed").isFalse();
        CompletableFuture<Boolean> waiting = CompletableFuture.supplyAsync(() -> streaming.awaitInstalled(WAIT));
        streaming.close();
        assertThat(waiting.get(5, TimeUnit.SECONDS)).as("closed before the stream completed").isFalse();
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

    /**
     * While every page is being streamed, a fault has its whole piece of the source read anyway (a
     * store decrypts whole chunks): it installs the rest of that piece too, instead of one page.
     */
    @Test
    @Order(4)
    void whileStreamingAFaultInstallsTheRestOfItsPieceOfTheSource() throws Exception {
        Path sparse = sparseImage("img-stream-faults");
        ImageIndex sparseIndex = ImageIndex.load(sparse);
        long unit = 64 * 1024;
        List<long[]> faultReads = new java.util.concurrent.CopyOnWriteArrayList<>(); // {offset, length}
        PageSource slowChunked = new PageSource() {
            @Override
            public void read(long pagesId, long offset, MemorySegment dst) {
                faultReads.add(new long[] {offset, dst.byteSize()}); // the stream reads through readInOrder
                files.read(pagesId, offset, dst);
            }

            @Override
            public void readInOrder(long pagesId, long offset, MemorySegment dst) {
                try {
                    Thread.sleep(20); // a slow stream, so the target faults ahead of it
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                files.read(pagesId, offset, dst);
            }

            @Override
            public long readUnit() {
                return unit;
            }
        };
        Path work = newWorkDir();
        try (LazyPagesServer server = LazyPages.start(LazyPages.Options.of(work, sparseIndex, slowChunked).withStreamAll(true));
             CriuFixture.Restore restore = fixture.restore(sparse, work, true)) {
            assertThat(restore.command("sum", WAIT)).isEqualTo(expectedSum);
            assertThat(server.awaitInstalled(WAIT)).isTrue();
            LazyPagesServer.Stats stats = server.stats();
            System.out.println("stream-all with faults: " + stats);
            assertThat(stats.faultsServed()).as("the target ran ahead of the stream").isPositive();
            assertThat(stats.pagesServedOnDemand()).as("faults installed more than their own page")
                    .isGreaterThan(stats.faultsServed());
            assertThat(faultReads).isNotEmpty().allSatisfy(r -> assertThat(r[0] % unit + r[1])
                    .as("a fault's read stays within its piece").isLessThanOrEqualTo(unit));
            assertThat(stats.failure()).isEmpty();
        }
    }

    @Test
    @Order(5)
    void memoryNeverTouchedBeforeTheDumpIsLeftToTheKernelNotServedAPageAFault() throws Exception {
        Path work = newWorkDir();
        try (LazyPagesServer server = LazyPages.start(LazyPages.Options.of(work, index, files));
             CriuFixture.Restore restore = fixture.restore(work, true)) {
            long freshPages = LazyTarget.FRESH_BYTES / PAGE - LazyTarget.FRESH_WRITTEN_PAGES;
            assertThat(restore.command("fresh", WAIT)).isEqualTo("fresh=ok pages=" + freshPages);
            LazyPagesServer.Stats stats = server.stats();
            System.out.println("fresh memory: " + stats);
            assertThat(stats.zeroPagesServed())
                    .as("faults outside the lazy pages reaching the daemon, for %d pages never touched before the dump", freshPages)
                    .isLessThan(16);
            assertThat(stats.failure()).isEmpty();
            assertThat(restore.command("sum", WAIT)).isEqualTo(expectedSum);
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
        assertThat(server.whenEnded().toCompletableFuture()).as("a failed daemon has ended too").isDone();
        assertThat(server.stats().finished()).as("without installing everything").isFalse();
        assertThat(server.stats().failure()).hasValue(reason.get());
        assertThat(calls).hasValue(1);
        assertThat(work.resolve("lazy-pages.socket")).doesNotExist();
    }

    @Test
    @Order(6)
    void aSourceFailingWhileStreamingIsReportedAndAwaitInstalledSaysSo() throws Exception {
        Path work = newWorkDir();
        AtomicInteger bigReads = new AtomicInteger();
        PageSource failing = (pagesId, offset, dst) -> {
            if (dst.byteSize() > PAGE && bigReads.incrementAndGet() > 3) {
                throw new IllegalStateException("store unavailable");
            }
            files.read(pagesId, offset, dst);
        };
        AtomicReference<String> reason = new AtomicReference<>();
        AtomicInteger calls = new AtomicInteger();
        LazyPages.Options options = LazyPages.Options.of(work, index, failing).withStreamAll(true).withFailureHandler(r -> {
            calls.incrementAndGet();
            reason.set(r);
        });
        LazyPagesServer server = LazyPages.start(options);
        // No wait for CRIU's pid file: when the source fails before CRIU's restorer has touched the
        // tasks' stacks, CRIU waits on that fault for good (nothing is ever answered with zeros) and
        // only closing the restore ends it; the daemon reports the failure either way.
        try (CriuFixture.Restore restore = fixture.restore(work, true)) {
            assertThat(server.awaitInstalled(WAIT)).as("the stream failed").isFalse();
            assertThat(reason.get()).contains("pid 1", "streaming every lazy page", "pages-1.img", "store unavailable");
            assertThat(server.stats().streamComplete()).isFalse();
            assertThat(server.stats().pagesStreamed()).isPositive();
        }
        CompletableFuture.runAsync(server::close).get(10, TimeUnit.SECONDS);
        assertThat(calls).hasValue(1);
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

        // closeAfterExit: the caller vouches that the tasks are gone, so neither the handler nor a log above
        // DEBUG, whatever the liveness probe would say (here it would say alive: the caller kills it right after)
        java.util.logging.Logger log = java.util.logging.Logger.getLogger(LazyPagesDaemon.class.getName());
        List<java.util.logging.LogRecord> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler capture = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                logged.add(r);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        log.addHandler(capture);
        Path third = newWorkDir();
        CriuFixture.Restore lied = startAndAnswer(third, reasons::add, new AtomicReference<>());
        try {
            serverOf(third).closeAfterExit();
            assertThat(reasons).as("closeAfterExit calls no handler").isEmpty();
            assertThat(logged).as("nor logs a warning or worse")
                    .noneMatch(r -> r.getLevel().intValue() >= java.util.logging.Level.WARNING.intValue());
        } finally {
            log.removeHandler(capture);
            lied.close();
        }
    }

    @Test
    @Order(6)
    void optionsAreCheckedAndKeepTheirOtherValues() {
        LazyPages.Options o = LazyPages.Options.of(fixture.root, index, files).withFaultAroundPages(8).withStreamAll(true)
                .withSpinAfterFault(Duration.ofNanos(20_000)).withRecord(true);
        assertThat(o.faultAroundPages()).isEqualTo(8);
        assertThat(o.streamAll()).isTrue();
        assertThat(o.spinAfterFault()).isEqualTo(Duration.ofNanos(20_000));
        assertThat(o.record()).isTrue();
        LazyPages.Options old = new LazyPages.Options(fixture.root, index, files, false, java.util.Optional.empty(), 1, r -> { },
                System::nanoTime);
        assertThat(old.streamAll()).isFalse();
        assertThat(old.spinAfterFault()).isZero();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> o.withSpinAfterFault(Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> o.withSpinAfterFault(Duration.ofNanos(-1)))
                .isInstanceOf(IllegalArgumentException.class);
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
                LazyPages.Options options = LazyPages.Options.of(work, index, files).withFaultAroundPages(4);
                if (i == 1) {
                    options = options.withSpinAfterFault(Duration.ofNanos(50_000)); // polls between faults
                }
                servers.add(LazyPages.start(options));
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
            millis.computeIfAbsent("lazy, 1 page per fault", k -> new ArrayList<>()).add(timeLazy(command, expected, 1, null, false));
            millis.computeIfAbsent("lazy, 1 page per fault, 50 µs spin", k -> new ArrayList<>())
                    .add(timeLazy(command, expected, 1, null, false, SPIN));
            millis.computeIfAbsent("lazy, 16 pages per fault", k -> new ArrayList<>()).add(timeLazy(command, expected, 16, null, false));
            millis.computeIfAbsent("lazy + prefetched working set", k -> new ArrayList<>()).add(timeLazy(command, expected, 1, ws, false));
            millis.computeIfAbsent("stream-all", k -> new ArrayList<>()).add(timeLazy(command, expected, 1, null, true));
        }
        System.out.printf("criu restore start -> answer to \"%s\" (%s); image %d MB, %d MB of it lazy, working set %d MB%n",
                command, what, index.totalPresentBytes() >> 20, index.lazyBytes() >> 20, ws.bytes() >> 20);
        millis.forEach((mode, ms) -> System.out.printf("  %-38s median %4d ms  runs %s%n", mode,
                ms.stream().sorted().toList().get(ms.size() / 2), ms));
    }

    private long timeEager(String command, String expected) throws Exception {
        try (CriuFixture.Restore restore = fixture.restore(newWorkDir(), false)) {
            assertThat(restore.command(command, WAIT)).isEqualTo(expected);
            return elapsedMillis(restore);
        }
    }

    /**
     * Like the node: the server and the working set's fetch start first, then criu. The command is sent
     * as soon as CRIU wrote the pid file, also with stream-all (whose faults then compete with the stream).
     */
    private long timeLazy(String command, String expected, int faultAround, WorkingSet prefetch, boolean streamAll)
            throws Exception {
        return timeLazy(command, expected, faultAround, prefetch, streamAll, Duration.ZERO);
    }

    private static final Duration SPIN = Duration.ofNanos(50_000);

    private long timeLazy(String command, String expected, int faultAround, WorkingSet prefetch, boolean streamAll,
                          Duration spin) throws Exception {
        Path work = newWorkDir();
        try (Arena arena = Arena.ofShared()) {
            LazyPages.Options options = LazyPages.Options.of(work, index, files).withFaultAroundPages(faultAround)
                    .withStreamAll(streamAll).withSpinAfterFault(spin);
            if (prefetch != null) {
                options = options.withPrefetch(new LazyPages.Prefetch(prefetch,
                        CompletableFuture.supplyAsync(() -> index.read(prefetch, files, arena))));
            }
            try (LazyPagesServer server = LazyPages.start(options); CriuFixture.Restore restore = fixture.restore(work, true)) {
                assertThat(restore.command(command, WAIT)).isEqualTo(expected);
                long ms = elapsedMillis(restore);
                if (streamAll) {
                    assertThat(server.awaitInstalled(WAIT)).isTrue();
                }
                System.out.println("  " + command + " faultAround=" + faultAround + (prefetch != null ? " prefetch" : "")
                        + (streamAll ? " stream-all" : "") + (spin.isZero() ? "" : " spin=" + spin.toNanos() / 1000 + "µs")
                        + ": " + ms + " ms, " + server.stats());
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
