package dev.thaw.store;

import dev.thaw.core.ErrorType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/*
 * Reads for restores. materialize() writes each image file whole: chunks are fetched in parallel,
 * a bounded window ahead, and written at their offsets into a hidden temp file that is renamed
 * into place once complete (zero chunks are left as holes, so the file is sparse where the image
 * is zero). read() returns a byte range and fetches only the chunks covering it: the building
 * block of lazy restore, where a page fault becomes read(pages-N.img, offset, 4096) and a
 * prefetcher reads ahead.
 */
/** Materializes files and serves byte ranges of a snapshot. */
final class SnapshotReader {
    private final ChunkReader chunks;
    private final ExecutorService pool;
    private final int window;

    SnapshotReader(ChunkReader chunks, ExecutorService pool, int window) {
        this.chunks = chunks;
        this.pool = pool;
        this.window = window;
    }

    void materialize(SnapshotManifest m, Path targetDir, Map<String, List<ByteRange>> partial, FetchTally tally) {
        try {
            Files.createDirectories(targetDir);
        } catch (IOException e) {
            throw StoreException.internal("cannot create " + targetDir + " to restore snapshot '" + m.snapshotId() + "': "
                    + e.getMessage(), e);
        }
        for (ImageFile f : m.files()) {
            writeFile(m, f, targetDir, partial.get(f.name()), tally);
        }
    }

    byte[] read(SnapshotManifest m, String fileName, long offset, int length, FetchTally tally) {
        ImageFile f = m.file(fileName).orElseThrow(() -> new StoreException.NotFound("snapshot '" + m.snapshotId()
                + "' has no file '" + fileName + "'"));
        if (offset < 0 || length < 0 || offset + length > f.size()) {
            throw new StoreException(ErrorType.InvalidRequest, "range [" + offset + ", " + offset + " + " + length
                    + ") is outside file '" + fileName + "' of snapshot '" + m.snapshotId() + "' (" + f.size() + " bytes)", null);
        }
        byte[] out = new byte[length];
        if (length == 0) {
            return out;
        }
        int first = (int) (offset / m.chunkSize());
        int last = (int) ((offset + length - 1) / m.chunkSize());
        List<Future<byte[]>> fetches = new ArrayList<>();
        for (int i = first; i <= last; i++) {
            fetches.add(fetch(m, f, i, tally));
        }
        for (int i = first; i <= last; i++) {
            byte[] plain = SnapshotWriter.take(fetches.get(i - first), m.snapshotId(), fileName);
            if (plain != null) {
                copyOverlap(f.chunks().get(i), plain, offset, out);
            }
        }
        return out;
    }

    private static void copyOverlap(ChunkRef ref, byte[] plain, long offset, byte[] out) {
        long from = Math.max(offset, ref.offset());
        long to = Math.min(offset + out.length, ref.offset() + ref.length());
        System.arraycopy(plain, (int) (from - ref.offset()), out, (int) (from - offset), (int) (to - from));
    }

    private Future<byte[]> fetch(SnapshotManifest m, ImageFile f, int index, FetchTally tally) {
        ChunkRef ref = f.chunks().get(index);
        if (ref.zero()) {
            return CompletableFuture.completedFuture(null);
        }
        return pool.submit(() -> chunks.fetch(m, f.name(), index, ref, tally));
    }

    /** @param ranges the only byte ranges wanted, or null for the whole file */
    private void writeFile(SnapshotManifest m, ImageFile f, Path dir, List<ByteRange> ranges, FetchTally tally) {
        String snapshotId = m.snapshotId();
        Path target = dir.resolve(f.name());
        Path temp = dir.resolve("." + f.name() + ".part");
        Deque<Future<byte[]>> inFlight = new ArrayDeque<>();
        try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            Deque<ChunkRef> pending = new ArrayDeque<>();
            for (int i = 0; i < f.chunks().size(); i++) {
                ChunkRef ref = f.chunks().get(i);
                if (ranges != null && ranges.stream().noneMatch(r -> r.overlaps(ref.offset(), ref.offset() + ref.length()))) {
                    continue;
                }
                inFlight.add(fetch(m, f, i, tally));
                pending.add(ref);
                if (inFlight.size() >= window) {
                    write(ch, pending.poll(), SnapshotWriter.take(inFlight.poll(), snapshotId, f.name()));
                }
            }
            while (!inFlight.isEmpty()) {
                write(ch, pending.poll(), SnapshotWriter.take(inFlight.poll(), snapshotId, f.name()));
            }
            if (ch.size() < f.size()) {
                ch.write(ByteBuffer.wrap(new byte[1]), f.size() - 1);
            }
        } catch (IOException | RuntimeException e) {
            inFlight.forEach(fu -> fu.cancel(true));
            deleteQuietly(temp);
            if (e instanceof RuntimeException re) {
                throw re;
            }
            throw StoreException.internal("cannot write " + target + " restoring snapshot '" + snapshotId + "': "
                    + e.getMessage(), e);
        }
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            deleteQuietly(temp);
            throw StoreException.internal("cannot move " + target + " into place restoring snapshot '" + snapshotId + "'", e);
        }
    }

    private static void write(FileChannel ch, ChunkRef ref, byte[] plain) throws IOException {
        if (plain == null) {
            return;
        }
        ByteBuffer buf = ByteBuffer.wrap(plain);
        while (buf.hasRemaining()) {
            ch.write(buf, ref.offset() + buf.position());
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: the caller reports the original failure
        }
    }
}
