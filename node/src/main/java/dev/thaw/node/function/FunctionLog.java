package dev.thaw.node.function;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * One function's log: what its instances write to stdout/stderr plus the node's {@code START},
 * {@code END} and {@code REPORT} lines. The last lines stay in memory for {@code thaw logs}; every
 * line is appended to a file in the function's directory, so logs survive a node restart (which
 * reads the file's last lines back).
 *
 * <p>The file rotates: each invocation adds three lines, at thousands of invocations a second that is
 * megabytes a second, and a file that only grew would fill the node's disk. Once the next line would
 * take the file past its limit, the file becomes {@code NAME.1} (replacing the one before) and a new
 * one starts, so a function's log never takes more than twice the limit on disk.
 */
public final class FunctionLog implements AutoCloseable {
    public static final int MAX_LINES_IN_MEMORY = 10_000;
    /** The size at which the file rotates. */
    private static final long MAX_FILE_BYTES = 64L << 20;

    private final Deque<String> recent = new ArrayDeque<>();
    private final Path path;
    private final Path previous;
    private final long maxFileBytes;
    private OutputStream file;
    private long fileBytes;
    /** Set by {@link #close}: later lines stay in memory, and no rotation opens the file again. */
    private boolean closed;

    public FunctionLog(Path path) throws IOException {
        this(path, MAX_FILE_BYTES);
    }

    /**
     * @param path the log file; created with its directory if missing, appended to if present
     * @param maxFileBytes the size the file may reach before it rotates to {@code NAME.1} (tests use small ones)
     */
    FunctionLog(Path path, long maxFileBytes) throws IOException {
        if (maxFileBytes < 1) {
            throw new IllegalArgumentException("a log file's size limit must be positive, got " + maxFileBytes);
        }
        Files.createDirectories(path.getParent());
        this.path = path;
        this.previous = path.resolveSibling(path.getFileName() + ".1");
        this.maxFileBytes = maxFileBytes;
        this.file = open();
        this.fileBytes = Files.size(path);
        recallLastLines();
    }

    /** How much of the file before a restart {@code thaw logs} shows again, at most. */
    private static final int RECALLED_BYTES = 1 << 20;

    /**
     * A node restarted on the same data shows the lines logged before its restart, as a log should:
     * the file's last lines, up to {@link #RECALLED_BYTES} and {@link #MAX_LINES_IN_MEMORY}.
     */
    private void recallLastLines() throws IOException {
        if (fileBytes == 0) {
            return;
        }
        try (var channel = java.nio.channels.FileChannel.open(path, StandardOpenOption.READ)) {
            long from = Math.max(0, fileBytes - RECALLED_BYTES);
            java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocate((int) (fileBytes - from));
            while (buffer.hasRemaining() && channel.read(buffer, from + buffer.position()) > 0) {
                // reads to the end
            }
            String text = new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8);
            List<String> lines = text.lines().toList();
            if (from > 0 && !lines.isEmpty()) {
                lines = lines.subList(1, lines.size()); // the first is the end of a line cut in two
            }
            lines.subList(Math.max(0, lines.size() - MAX_LINES_IN_MEMORY), lines.size()).forEach(recent::addLast);
        }
    }

    public synchronized void append(String line) {
        String stamped = Instant.now() + " " + line;
        recent.addLast(stamped);
        if (recent.size() > MAX_LINES_IN_MEMORY) {
            recent.removeFirst();
        }
        if (closed) {
            return;
        }
        byte[] bytes = (stamped + '\n').getBytes(StandardCharsets.UTF_8);
        try {
            if (fileBytes > 0 && fileBytes + bytes.length > maxFileBytes) {
                rotate();
            }
            file.write(bytes); // one write(2) a line, so the file holds every line as soon as it is appended
            fileBytes += bytes.length;
        } catch (IOException e) {
            // The in-memory copy still serves thaw logs; a full disk must not fail invocations.
        }
    }

    public synchronized List<String> tail(int n) {
        List<String> all = new ArrayList<>(recent);
        return List.copyOf(all.subList(Math.max(0, all.size() - n), all.size()));
    }

    private void rotate() throws IOException {
        file.close();
        try {
            Files.move(path, previous, StandardCopyOption.REPLACE_EXISTING);
        } finally { // moved or not, the log goes on in a file of this name
            file = open();
            fileBytes = Files.size(path);
        }
    }

    private OutputStream open() throws IOException {
        return Files.newOutputStream(path, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    @Override
    public synchronized void close() {
        closed = true;
        try {
            file.close();
        } catch (IOException e) {
            // closing a log on shutdown: nothing to report to
        }
    }
}
