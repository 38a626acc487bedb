package dev.thaw.node.snapshot;

import dev.thaw.core.RestoreMode;
import dev.thaw.node.pool.StartReport;
import dev.thaw.store.FetchTally;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Figures of one restore, filled in while it happens and reported with the first invocation the
 * restored instance serves: in {@code X-Thaw-*} headers, the {@code REPORT} line and metrics.
 *
 * <p>Where the images came from: the working copy on tmpfs ({@code local}) or the snapshot store
 * ({@code store}, with the bytes each tier served and how long fetching took). Lazy restores add
 * what their page source did: pages installed up front, faults served on demand, the working set.
 */
public final class RestoreReport implements StartReport {
    public final FetchTally tally = new FetchTally();
    public volatile RestoreMode mode = RestoreMode.EAGER;
    public volatile String source = "local";
    /** An eager restore whose pages the page server streamed in (from the working copy or the store). */
    public volatile boolean streamed;
    /** When the restore began: fetches that overlap each other and CRIU count from here. */
    public final long beganNanos = System.nanoTime();
    /** From the restore's beginning to the end of its last fetch before the handler runs. */
    public volatile long fetchNanos;
    public volatile long pagesUpFront;
    public volatile long faultsOnDemand;
    /** Faults on pages the image does not hold (never touched before the dump): answered with the zero page. */
    public volatile long zeroPageFaults;
    public volatile long workingSetBytes;
    public volatile long installNanos;
    public volatile long imageBytes;

    /** Notes that one of the restore's fetches (the image, the working set) has just completed. */
    public synchronized void fetched() {
        fetchNanos = Math.max(fetchNanos, System.nanoTime() - beganNanos);
    }

    /** @return header name (without the {@code X-Thaw-} prefix) to value */
    @Override
    public Map<String, String> headers() {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Restore-Mode", mode.wireName());
        h.put("Restore-Source", source);
        h.put("Fetch-Ms", ms(fetchNanos));
        h.put("Fetch-Bytes", bytesByTier());
        if (mode != RestoreMode.EAGER || streamed) {
            h.put("Pages-Up-Front", Long.toString(pagesUpFront));
            h.put("Faults-On-Demand", Long.toString(faultsOnDemand));
            h.put("Zero-Page-Faults", Long.toString(zeroPageFaults));
            h.put("Working-Set-Bytes", Long.toString(workingSetBytes));
            h.put("Install-Ms", ms(installNanos));
        }
        return h;
    }

    /** @return the tab-separated fields the {@code REPORT} line gets */
    @Override
    public String reportFields() {
        return headers().entrySet().stream().map(e -> e.getKey().replace('-', ' ') + ": " + e.getValue())
                .collect(Collectors.joining("\t"));
    }

    /** @return {@code memory=N;disk=N;s3=N} of the bytes fetched from the store, or {@code none} */
    public String bytesByTier() {
        Map<String, Long> b = tally.bytesByTier();
        return b.isEmpty() ? "none" : b.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining(";"));
    }

    private static String ms(long nanos) {
        return String.format(Locale.ROOT, "%.3f", nanos / 1e6);
    }
}
