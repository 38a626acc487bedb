package dev.thaw.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Idle work against the real scheduler: it yields to busy cores, and still gets done. */
class BackgroundTest {

    /**
     * A thread of normal policy spins on every core; background work that needs 200 ms of CPU
     * would get a SCHED_IDLE thread's share (a few thousandths of a core) for as long as they spin,
     * about a minute: the guard lets it finish in seconds.
     */
    @Test
    void idleWorkOnCoresThatStayBusyStillGetsDone() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/thread-self/schedstat")), "the kernel shows no run-queue waits");
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> hogs = new ArrayList<>();
        long boostsBefore = Background.guard().boosts();
        try {
            for (int i = 0; i < Runtime.getRuntime().availableProcessors(); i++) {
                hogs.add(Thread.ofPlatform().daemon().name("hog-" + i).start(() -> {
                    while (!stop.get()) {
                        Thread.onSpinWait();
                    }
                }));
            }
            CompletableFuture<Integer> done = new CompletableFuture<>();
            Thread.ofPlatform().daemon().name("idle-work").start(Background.idle(() -> {
                int policy = TestSupport.schedulingPolicy(Path.of("/proc/thread-self/stat"));
                long end = cpu.getCurrentThreadCpuTime() + 200_000_000L;
                while (cpu.getCurrentThreadCpuTime() < end) {
                    Thread.onSpinWait();
                }
                done.complete(policy);
            }));
            assertThat(done.get(30, TimeUnit.SECONDS)).as("it began idle (SCHED_IDLE is 5)").isEqualTo(5);
            assertThat(Background.guard().boosts()).as("the guard gave it a normal share").isGreaterThan(boostsBefore);
        } finally {
            stop.set(true);
            for (Thread h : hogs) {
                h.join();
            }
        }
    }
}
