package dev.thaw.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * What a long command is doing, on stderr (stdout stays the command's answer alone). On a
 * terminal, one line redrawn in place (at most ten times a second) and erased when the work ends;
 * otherwise (a pipe, a log file) a plain line every few seconds, so a log shows the command was
 * alive without filling up. Thread-safe: reports come from HTTP client threads and pollers.
 */
final class Progress implements AutoCloseable {
    private static final long REDRAW_NANOS = 100_000_000L;
    private static final String ERASE_LINE = "\r\033[K";

    /**
     * How a command reports progress.
     *
     * @param terminal whether stderr is a terminal (redraw one line) or not (plain lines)
     * @param plainEvery how often a plain line is printed at most
     * @param quietFor how long work runs before progress is shown at all
     * @param pollEvery how often a command that asks the node what it is doing asks
     */
    record Settings(boolean terminal, Duration plainEvery, Duration quietFor, Duration pollEvery) {
        /** For a person at a terminal or a log: progress after a second, plain lines every 5 s. */
        static Settings detect() {
            return new Settings(stderrIsTerminal(), Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofMillis(500));
        }
    }

    private final PrintWriter err;
    private final Settings settings;
    private final LongSupplier nanos;
    private final long start;
    private long lastDraw = Long.MIN_VALUE;
    private boolean drawn;
    private boolean closed;

    Progress(PrintWriter err, Settings settings, LongSupplier nanos) {
        this.err = err;
        this.settings = settings;
        this.nanos = nanos;
        this.start = nanos.getAsLong();
    }

    /** @return time since this progress began */
    Duration elapsed() {
        return Duration.ofNanos(nanos.getAsLong() - start);
    }

    /** Shows {@code text}, when it is time to: after the quiet period, and then as often as the mode allows. */
    void show(String text) {
        show(text, false);
    }

    /** Shows {@code text} as {@link #show(String)} does, but on a terminal at once: a change of phase, not a tick. */
    void showNow(String text) {
        show(text, true);
    }

    private synchronized void show(String text, boolean now) {
        long at = nanos.getAsLong();
        if (closed || at - start < settings.quietFor().toNanos()) {
            return;
        }
        long every = settings.terminal() ? (now ? 0 : REDRAW_NANOS) : settings.plainEvery().toNanos();
        if (lastDraw != Long.MIN_VALUE && at - lastDraw < every) {
            return;
        }
        lastDraw = at;
        if (settings.terminal()) {
            err.print(ERASE_LINE + text);
            drawn = true;
        } else {
            err.println("thaw: " + text);
        }
        err.flush();
    }

    /** Ends the progress: a line drawn on the terminal is erased, so what follows starts clean. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (drawn) {
            err.print(ERASE_LINE);
            err.flush();
        }
    }

    /** @return e.g. {@code 3 s}, {@code 12 s} */
    static String seconds(Duration d) {
        return d.toSeconds() + " s";
    }

    /**
     * @return whether this process's stderr is a terminal: on Linux, descriptor 2 is a tty or a
     *     pseudo-terminal ({@code System.console()} says so only of stdin and stdout)
     */
    static boolean stderrIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (java.io.IOException | UnsupportedOperationException | SecurityException e) {
            return false;
        }
    }
}
