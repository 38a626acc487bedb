package dev.thaw.store;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
import java.util.function.LongConsumer;

/*
 * Reads for restores. materialize() writes each image file whole: chunks are fetched in parallel,
 * a bounded window ahead across all the files (an image has dozens of one-chunk files), and written
 * at their offsets into a hidden temp file per file that is renamed into place once complete (zero
 * chunks are left as holes, so the file is sparse where the image is zero). read() returns a byte range and fetches only the chunks covering it: the building
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
        List<Target> targets = new ArrayList<>();
        Deque<Pending> inFlight = new ArrayDeque<>();
        try {
            for (ImageFile f : m.files()) {
                Target t = Target.open(m, f, targetDir);
                targets.add(t);
                queueChunks(m, t, partial.get(f.name()), inFlight, tally);
            }
            while (!inFlight.isEmpty()) {
                inFlight.poll().write(m.snapshotId());
            }
            for (Target t : targets) {
                t.complete(m.snapshotId());
            }
        } catch (RuntimeException e) {
            inFlight.forEach(p -> p.chunk().cancel(true));
            targets.forEach(Target::discard);
            throw e;
        }
    }

    /**
     * Queues the fetches of one file's chunks (only those overlapping {@code ranges}, unless null),
     * writing the oldest fetch whenever the window across all files is full: many small image files
     * are fetched at once instead of one after the other.
     */
    private void queueChunks(SnapshotManifest m, Target t, List<ByteRange> ranges, Deque<Pending> inFlight,
                             FetchTally tally) {
        for (int i = 0; i < t.file().chunks().size(); i++) {
            ChunkRef ref = t.file().chunks().get(i);
            if (ranges != null && ranges.stream().noneMatch(r -> r.overlaps(ref.offset(), ref.offset() + ref.length()))) {
                continue;
            }
            inFlight.add(new Pending(t, ref, fetch(m, t.file(), i, tally)));
            if (inFlight.size() >= window) {
                inFlight.poll().write(m.snapshotId());
            }
        }
    }

    byte[] read(SnapshotManifest m, String fileName, long offset, int length, FetchTally tally) {
        ImageFile f = m.file(fileName).orElse(null);
        if (f != null && length > 0 && offset % m.chunkSize() == 0 && offset + length <= f.size()) {
            ChunkRef ref = f.chunks().get((int) (offset / m.chunkSize()));
            if (ref.length() == length && !ref.zero()) {
                // one whole chunk (a page server streaming an image reads nothing else): its fetched
                // plaintext is a fresh array nobody else holds, so it is the answer, not a copy
                return SnapshotWriter.take(fetch(m, f, (int) (offset / m.chunkSize()), tally), m.snapshotId(), fileName);
            }
        }
        byte[] out = new byte[length];
        readInto(m, fileName, offset, MemorySegment.ofArray(out), tally, arrived -> { });
        return out;
    }

    /** A thread that never runs: a segment it may access is not confined to its caller's thread. */
    private static final Thread NOT_THE_CALLER = Thread.ofPlatform().unstarted(() -> { });

    /**
     * Fetches the chunks covering the range in parallel. The fetch threads decrypt whole chunks
     * straight into {@code dest} when they may write there; partial chunks (and every chunk, for memory
     * confined to the caller) are copied in by the caller, in file order. Not giving each chunk a
     * plaintext array matters beyond the copy: a working set's 4 MiB chunks are humongous objects to
     * G1, and allocating a dozen per restore slowed a Spring Boot REAP restore's fetch from the disk
     * tier from ~72 to ~136 ms (median of 10 alternating pairs in one node).
     */
    void readInto(SnapshotManifest m, String fileName, long offset, MemorySegment dest, FetchTally tally, LongConsumer arrived) {
        ImageFile f = m.file(fileName).orElseThrow(() -> new StoreException.NotFound("snapshot '" + m.snapshotId()
                + "' has no file '" + fileName + "'"));
        long length = dest.byteSize();
        if (offset < 0 || offset + length > f.size()) {
            throw new StoreException.InvalidArgument("range [" + offset + ", " + offset + " + " + length
                    + ") is outside file '" + fileName + "' of snapshot '" + m.snapshotId() + "' (" + f.size() + " bytes)");
        }
        if (length == 0) {
            arrived.accept(0);
            return;
        }
        int first = (int) (offset / m.chunkSize());
        int last = (int) ((offset + length - 1) / m.chunkSize());
        // the fetch threads can write into it unless it is confined to the calling thread
        boolean sharedWithFetchThreads = dest.isAccessibleBy(NOT_THE_CALLER);
        List<Future<?>> fetches = new ArrayList<>();
        for (int i = first; i <= last; i++) {
            ChunkRef ref = f.chunks().get(i);
            if (sharedWithFetchThreads && offset <= ref.offset() && ref.offset() + ref.length() <= offset + length && !ref.zero()) {
                // a whole chunk: decrypted straight into its place (no plaintext array, no copy)
                MemorySegment place = dest.asSlice(ref.offset() - offset, ref.length());
                int index = i;
                fetches.add(pool.submit(() -> chunks.fetchInto(m, f.name(), index, ref, tally, place)));
            } else {
                fetches.add(fetch(m, f, i, tally));
            }
        }
        for (int i = first; i <= last; i++) {
            ChunkRef ref = f.chunks().get(i);
            long from = Math.max(offset, ref.offset());
            long to = Math.min(offset + length, ref.offset() + ref.length());
            Object fetched = SnapshotWriter.take(fetches.get(i - first), m.snapshotId(), fileName);
            if (fetched instanceof byte[] plain) {
                MemorySegment.copy(plain, (int) (from - ref.offset()), dest, ValueLayout.JAVA_BYTE, from - offset, (int) (to - from));
            } else if (ref.zero()) {
                dest.asSlice(from - offset, to - from).fill((byte) 0);
            }
            arrived.accept(to - offset);
        }
    }

    private Future<byte[]> fetch(SnapshotManifest m, ImageFile f, int index, FetchTally tally) {
        ChunkRef ref = f.chunks().get(index);
        if (ref.zero()) {
            return CompletableFuture.completedFuture(null);
        }
        return pool.submit(() -> chunks.fetch(m, f.name(), index, ref, tally));
    }

    /** One chunk being fetched for a file being written. */
    private record Pending(Target target, ChunkRef ref, Future<byte[]> chunk) {
        void write(String snapshotId) {
            byte[] plain = SnapshotWriter.take(chunk, snapshotId, target.file().name());
            if (plain == null) {
                return; // a zero chunk: left as a hole
            }
            try {
                ByteBuffer buf = ByteBuffer.wrap(plain);
                while (buf.hasRemaining()) {
                    target.channel().write(buf, ref.offset() + buf.position());
                }
            } catch (IOException e) {
                throw target.failure(snapshotId, e);
            }
        }
    }

    /** An image file being materialized: written into a hidden temp file, renamed into place when complete. */
    private record Target(ImageFile file, Path path, Path temp, FileChannel channel) {
        static Target open(SnapshotManifest m, ImageFile f, Path dir) {
            Path temp = dir.resolve("." + f.name() + ".part");
            try {
                FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE);
                return new Target(f, dir.resolve(f.name()), temp, ch);
            } catch (IOException e) {
                throw StoreException.internal("cannot write " + dir.resolve(f.name()) + " restoring snapshot '"
                        + m.snapshotId() + "': " + e.getMessage(), e);
            }
        }

        void complete(String snapshotId) {
            try (channel) {
                if (channel.size() < file.size()) {
                    channel.write(ByteBuffer.wrap(new byte[1]), file.size() - 1);
                }
            } catch (IOException e) {
                throw failure(snapshotId, e);
            }
            try {
                Files.move(temp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw StoreException.internal("cannot move " + path + " into place restoring snapshot '" + snapshotId + "'", e);
            }
        }

        void discard() {
            try {
                channel.close();
            } catch (IOException ignored) {
                // discarding after a failure: the original failure is reported
            }
            deleteQuietly(temp);
        }

        StoreException failure(String snapshotId, IOException e) {
            return StoreException.internal("cannot write " + path + " restoring snapshot '" + snapshotId + "': "
                    + e.getMessage(), e);
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
