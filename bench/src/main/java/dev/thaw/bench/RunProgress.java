package dev.thaw.bench;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** A progress bar on one line of stderr: requests done/total, elapsed time, rate; redrawn 4 times a second. */
final class RunProgress implements AutoCloseable {
    private static final int WIDTH = 30;

    private final PrintWriter out;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "bench-progress");
        t.setDaemon(true);
        return t;
    });
    private final AtomicInteger done = new AtomicInteger();
    private volatile int total;
    private volatile String label = "setting up";
    private volatile long startNanos = System.nanoTime();
    private int lastLength;

    RunProgress(PrintWriter out) {
        this.out = out;
        timer.scheduleAtFixedRate(this::draw, 250, 250, TimeUnit.MILLISECONDS);
    }

    /** Starts a new phase: {@code total} requests (-1 when unknown). */
    void phase(String label, int total) {
        this.label = label;
        this.total = total;
        this.done.set(0);
        this.startNanos = System.nanoTime();
        draw();
    }

    void done() {
        done.incrementAndGet();
    }

    static String line(String label, int done, int total, double elapsedS) {
        String bar;
        if (total > 0) {
            int filled = (int) Math.min(WIDTH, (long) WIDTH * done / total);
            bar = "[" + "#".repeat(filled) + ".".repeat(WIDTH - filled) + "] " + done + "/" + total;
        } else {
            bar = done + " requests";
        }
        double rate = elapsedS > 0 ? done / elapsedS : 0;
        return String.format(Locale.ROOT, "%s %s  %.1fs  %.1f req/s", label, bar, elapsedS, rate);
    }

    private synchronized void draw() {
        String text = line(label, done.get(), total, (System.nanoTime() - startNanos) / 1e9);
        out.print("\r" + text + " ".repeat(Math.max(0, lastLength - text.length())));
        out.flush();
        lastLength = text.length();
    }

    /** Draws the final state of a phase and moves to a new line. */
    synchronized void finish() {
        draw();
        out.println();
        out.flush();
        lastLength = 0;
    }

    @Override
    public void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            if (lastLength > 0) {
                out.print("\r" + " ".repeat(lastLength) + "\r");
                out.flush();
                lastLength = 0;
            }
        }
    }
}
