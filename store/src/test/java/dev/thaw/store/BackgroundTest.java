package dev.thaw.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.thaw.linux.Libc;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Idle work against the real scheduler: it yields to a busy CPU, and still gets done. */
class BackgroundTest {

    /**
     * A thread of normal policy spins on CPU 0, beside background work on that CPU alone that needs
     * 200 ms of CPU: as a SCHED_IDLE thread it would get a few thousandths of the CPU for as long as
     * the other spins (about a minute); the guard lets it finish in seconds. (Both are pinned: on
     * two CPUs the scheduler may balance the spinner away, and then nothing starves.)
     */
    @Test
    void idleWorkOnACpuThatStaysBusyStillGetsDone() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/thread-self/schedstat")), "the kernel shows no thread CPU times");
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        AtomicBoolean stop = new AtomicBoolean();
        long boostsBefore = SnapshotStore.backgroundBoosts();
        Thread hog = Thread.ofPlatform().daemon().name("hog").start(() -> {
            Libc.runOnlyOn(0);
            while (!stop.get()) {
                Thread.onSpinWait();
            }
        });
        try {
            CompletableFuture<Long> done = new CompletableFuture<>();
            Thread.ofPlatform().daemon().name("idle-work").start(() -> {
                Libc.runOnlyOn(0);
                Background.idle(() -> {
                    long start = System.nanoTime();
                    long end = cpu.getCurrentThreadCpuTime() + 200_000_000L;
                    while (cpu.getCurrentThreadCpuTime() < end) {
                        Thread.onSpinWait();
                    }
                    done.complete(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                }).run();
            });
            long tookMs = done.get(30, TimeUnit.SECONDS);
            assertThat(SnapshotStore.backgroundBoosts()).as("the guard gave it a normal share (it took %d ms)", tookMs)
                    .isGreaterThan(boostsBefore);
        } finally {
            stop.set(true);
            hog.join();
        }
    }

    /** The factory a node publishes its snapshots with: its threads are idle work while they run, like the store's own. */
    @Test
    void theStoresPublicBackgroundThreadsRunIdle() throws Exception {
        TestSupport.awaitNoBoost(); // another test's
        CompletableFuture<Integer> seen = new CompletableFuture<>();
        Thread t = SnapshotStore.backgroundThreads(Thread.ofPlatform().name("publisher").factory())
                .newThread(() -> seen.complete(TestSupport.schedulingPolicy(Path.of("/proc/thread-self/stat"))));
        t.start();
        assertThat(seen.get(10, TimeUnit.SECONDS)).isEqualTo(5);
        assertThat(t.getName()).isEqualTo("publisher");
        t.join();
    }
}
