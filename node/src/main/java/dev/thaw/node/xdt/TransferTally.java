package dev.thaw.node.xdt;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The transfers one invocation made, for its {@code REPORT} line: how many puts and gets, their
 * bytes and time, and where gets were served from ({@code local}, {@code remote}, {@code s3}).
 * Thread-safe: a handler may transfer from several threads. The node records a transfer before
 * the last bytes of its answer go out, so a handler that answers once it has its data finds the
 * transfer in its own REPORT line.
 */
public final class TransferTally {
    private int puts;
    private long putBytes;
    private long putNanos;
    private int gets;
    private long getBytes;
    private long getNanos;
    private final Map<String, Integer> sources = new TreeMap<>();
    /** Records a put. */
    public synchronized void put(long bytes, long nanos) {
        puts++;
        putBytes += bytes;
        putNanos += nanos;
    }

    /** Records a get served from {@code source}. */
    public synchronized void get(long bytes, long nanos, String source) {
        gets++;
        getBytes += bytes;
        getNanos += nanos;
        sources.merge(source, 1, Integer::sum);
    }

    /** @return whether nothing was transferred */
    public synchronized boolean isEmpty() {
        return puts == 0 && gets == 0;
    }

    /**
     * @return tab-separated fields, e.g. {@code XDT Put: 1 (10.0 MB, 12.3 ms)} and
     *     {@code XDT Get: 1 (10.0 MB, 8.1 ms, local)}; sizes in Lambda's units (1 MB = 1,048,576 bytes)
     */
    public synchronized String reportFields() {
        StringBuilder s = new StringBuilder();
        if (puts > 0) {
            s.append(String.format(Locale.ROOT, "XDT Put: %d (%s, %.1f ms)", puts, size(putBytes), putNanos / 1e6));
        }
        if (gets > 0) {
            if (!s.isEmpty()) {
                s.append('\t');
            }
            StringBuilder from = new StringBuilder();
            sources.forEach((k, v) -> from.append(from.isEmpty() ? "" : ", ").append(k)
                    .append(gets > 1 ? " " + v : ""));
            s.append(String.format(Locale.ROOT, "XDT Get: %d (%s, %.1f ms, %s)", gets, size(getBytes), getNanos / 1e6, from));
        }
        return s.toString();
    }

    /** @return bytes in B, KB or MB (binary units, as Lambda's REPORT lines count memory) */
    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        if (bytes < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KB", bytes / 1024.0);
        }
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1048576.0);
    }
}
