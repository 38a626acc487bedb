package dev.thaw.node;

import dev.thaw.lazy.PageSource;
import dev.thaw.store.FetchTally;
import dev.thaw.store.ImageFile;
import dev.thaw.store.SnapshotManifest;
import dev.thaw.store.SnapshotStore;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;

/*
 * A lazy restore's page source backed by the snapshot store. A fault asks for one page, but the
 * store verifies and decrypts whole chunks: decrypting 512 KiB for each 4 KiB fault would make the
 * lazy baseline ten times slower than it needs to be. So this source reads whole chunks and keeps
 * the most recent ones of this restore in plaintext (a few MiB, dropped with the restore), and a
 * run of faults in one chunk costs one fetch. Bytes are counted per tier in the restore's tally.
 */
/** Serves a lazy restore's pages from the snapshot store, chunk by chunk. */
final class StorePageSource implements PageSource {
    private static final int CACHED_CHUNKS = 16;

    private final SnapshotStore store;
    private final String snapshotId;
    private final SnapshotManifest manifest;
    private final FetchTally tally;
    private final Map<String, byte[]> recent = new LinkedHashMap<>(CACHED_CHUNKS, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, byte[]> eldest) {
            return size() > CACHED_CHUNKS;
        }
    };

    StorePageSource(SnapshotStore store, String snapshotId, FetchTally tally) {
        this.store = store;
        this.snapshotId = snapshotId;
        this.manifest = store.manifest(snapshotId);
        this.tally = tally;
    }

    @Override
    public void read(long pagesId, long offset, MemorySegment dst) {
        String file = "pages-" + pagesId + ".img";
        ImageFile image = manifest.file(file).orElseThrow(() -> new IllegalStateException(
                "snapshot '" + snapshotId + "' has no " + file));
        int chunkSize = manifest.chunkSize();
        long done = 0;
        while (done < dst.byteSize()) {
            long at = offset + done;
            long chunkStart = at - at % chunkSize;
            byte[] chunk = chunk(file, image, chunkStart, chunkSize);
            int from = (int) (at - chunkStart);
            int n = (int) Math.min(dst.byteSize() - done, chunk.length - from);
            if (n <= 0) {
                throw new IllegalStateException("bytes [" + offset + ", +" + dst.byteSize() + ") are past the end of "
                        + file + " of snapshot '" + snapshotId + "' (" + image.size() + " bytes)");
            }
            MemorySegment.copy(chunk, from, dst, ValueLayout.JAVA_BYTE, done, n);
            done += n;
        }
    }

    private byte[] chunk(String file, ImageFile image, long chunkStart, int chunkSize) {
        String key = file + "@" + chunkStart;
        synchronized (recent) {
            byte[] cached = recent.get(key);
            if (cached != null) {
                return cached;
            }
        }
        int length = (int) Math.min(chunkSize, image.size() - chunkStart);
        byte[] bytes = store.read(snapshotId, file, chunkStart, Math.max(0, length), tally);
        synchronized (recent) {
            recent.put(key, bytes);
        }
        return bytes;
    }
}
