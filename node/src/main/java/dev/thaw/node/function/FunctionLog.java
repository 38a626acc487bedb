package dev.thaw.node.function;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * One function's log: what its instances write to stdout/stderr plus the node's {@code START},
 * {@code END} and {@code REPORT} lines. The last lines stay in memory for {@code thaw logs}; every
 * line is appended to a file in the function's directory, so logs survive a node restart.
 */
public final class FunctionLog implements AutoCloseable {
    public static final int MAX_LINES_IN_MEMORY = 10_000;

    private final Deque<String> recent = new ArrayDeque<>();
    private final Writer file;

    public FunctionLog(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        this.file = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
    }

    public synchronized void append(String line) {
        String stamped = Instant.now() + " " + line;
        recent.addLast(stamped);
        if (recent.size() > MAX_LINES_IN_MEMORY) {
            recent.removeFirst();
        }
        try {
            file.write(stamped);
            file.write('\n');
            file.flush();
        } catch (IOException e) {
            // The in-memory copy still serves thaw logs; a full disk must not fail invocations.
        }
    }

    public synchronized List<String> tail(int n) {
        List<String> all = new ArrayList<>(recent);
        return List.copyOf(all.subList(Math.max(0, all.size() - n), all.size()));
    }

    @Override
    public synchronized void close() {
        try {
            file.close();
        } catch (IOException e) {
            // closing a log on shutdown: nothing to report to
        }
    }
}
