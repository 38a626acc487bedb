package dev.thaw.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.stream.Stream;

/*
 * Cutting an image directory into chunks. Each regular file is read in chunk-size pieces (so every
 * chunk starts on a page boundary; only a file's last chunk may be shorter). An all-zero piece
 * becomes a zero reference and is not stored. Any other piece is hashed (SHA-256), its chunk name
 * pinned in the write lease, and, unless the disk tier already holds that name (dedup), sealed and
 * written to disk (durable locally, crash-safe) and to memory. Pieces are processed in parallel on
 * the store's pool, a bounded window at a time, and reassembled in order.
 */
/** Turns an image directory into chunk objects and image file descriptions. */
final class SnapshotWriter {
    private final StoreKeys keys;
    private final ChunkCodec codec;
    private final ObjectTier disk;
    private final ObjectTier memory;
    private final ExecutorService pool;
    /** Compared against a chunk slice by slice, so that one buffer serves every chunk size. */
    private static final byte[] ZEROS = new byte[64 * 1024];

    private final int window;
    private final boolean plain;

    SnapshotWriter(StoreKeys keys, ChunkCodec codec, ObjectTier disk, ObjectTier memory, ExecutorService pool,
                   int window, boolean plain) {
        this.plain = plain;
        this.keys = keys;
        this.codec = codec;
        this.disk = disk;
        this.memory = memory;
        this.pool = pool;
        this.window = window;
    }

    /** @return the directory's regular files, sorted by name */
    static List<Path> imageFiles(String snapshotId, Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new StoreException.NotFound("cannot store snapshot '" + snapshotId + "': " + dir + " is not a directory");
        }
        try (Stream<Path> entries = Files.list(dir)) {
            List<Path> files = entries.sorted().toList();
            for (Path p : files) {
                if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    throw new StoreException.InvalidArgument("cannot store snapshot '" + snapshotId
                            + "': " + p + " is not a regular file (an image directory holds regular files only)");
                }
            }
            return files;
        } catch (IOException e) {
            throw StoreException.internal("cannot list " + dir + " for snapshot '" + snapshotId + "': " + e.getMessage(), e);
        }
    }

    ImageFile write(String snapshotId, Path file, int chunkSize, Pins.Lease lease) {
        String name = file.getFileName().toString();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            List<ChunkRef> refs = new ArrayList<>();
            Deque<Future<ChunkRef>> inFlight = new ArrayDeque<>();
            try {
                for (long offset = 0; offset < size; offset += chunkSize) {
                    int length = (int) Math.min(chunkSize, size - offset);
                    byte[] data = readFully(ch, offset, length, file);
                    long at = offset;
                    inFlight.add(pool.submit(() -> storeChunk(data, at, lease)));
                    if (inFlight.size() >= window) {
                        refs.add(take(inFlight.poll(), snapshotId, name));
                    }
                }
                while (!inFlight.isEmpty()) {
                    refs.add(take(inFlight.poll(), snapshotId, name));
                }
            } finally {
                drainQuietly(inFlight);
            }
            if (ch.size() != size) {
                throw StoreException.internal("file " + file + " changed size while snapshot '" + snapshotId
                        + "' was being stored", null);
            }
            return new ImageFile(name, size, refs);
        } catch (IOException e) {
            throw StoreException.internal("cannot read " + file + " for snapshot '" + snapshotId + "': " + e.getMessage(), e);
        }
    }

    /** After a failure: waits for chunk writes still running, so that none outlives the put that failed. */
    private static void drainQuietly(Deque<Future<ChunkRef>> inFlight) {
        for (Future<ChunkRef> f : inFlight) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (ExecutionException ignored) {
                // the first failure is the one reported
            }
        }
    }

    private ChunkRef storeChunk(byte[] data, long offset, Pins.Lease lease) {
        if (allZero(data)) {
            return new ChunkRef(null, offset, data.length, true);
        }
        byte[] hash = ChunkCodec.sha256(data, 0, data.length);
        String name = keys.chunkObject(hash, plain);
        lease.pin(name);
        if (!disk.exists(name)) {
            byte[] sealed = codec.seal(hash, name, data, 0, data.length, plain);
            disk.put(name, sealed);
            if (memory != null) {
                memory.put(name, sealed);
            }
        }
        return new ChunkRef(ChunkCodec.hex(hash), offset, data.length, false);
    }

    private static boolean allZero(byte[] data) {
        for (int from = 0; from < data.length; from += ZEROS.length) {
            int to = Math.min(data.length, from + ZEROS.length);
            if (Arrays.mismatch(data, from, to, ZEROS, 0, to - from) != -1) {
                return false;
            }
        }
        return true;
    }

    private static byte[] readFully(FileChannel ch, long offset, int length, Path file) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length);
        while (buf.hasRemaining()) {
            if (ch.read(buf, offset + buf.position()) < 0) {
                throw new IOException("file " + file + " shrank while being read");
            }
        }
        return buf.array();
    }

    static <T> T take(Future<T> future, String snapshotId, String file) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw StoreException.internal("interrupted while processing file '" + file + "' of snapshot '" + snapshotId + "'", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw StoreException.internal("failure processing file '" + file + "' of snapshot '" + snapshotId + "'", e.getCause());
        }
    }
}
