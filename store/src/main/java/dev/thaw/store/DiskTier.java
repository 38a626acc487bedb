package dev.thaw.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/*
 * The local-disk tier.
 *
 * Layout: <root>/objects/<c|m>/<first two hex digits>/<rest of the name>, and <root>/tmp for
 * writes in progress. A write goes to a fresh temp file, is fsync'ed, atomically renamed into
 * place and the directory fsync'ed: after a crash an object is either whole or absent, and
 * leftover temp files are deleted when the tier opens. A failed write (disk full included) deletes
 * its temp file, so nothing half-written is ever visible under an object name.
 *
 * Bounded by total bytes with LRU eviction: an in-memory index (built from the directory when the
 * tier opens, last use taken from file times) records each object's size and last use. Space is
 * reserved before writing; when the bound would be exceeded, the least recently used objects the
 * store allows to go (a predicate: never manifests, never chunks still waiting for upload) are
 * deleted, each through the store's EvictionGuard, which re-checks under the chunk's lease lock
 * that no writer pinned it meanwhile. If that is not enough the write fails with StoreException.Full.
 *
 * Reads lend the object in a direct buffer of the reading thread's, reused from read to read (read),
 * rather than a new array (get): arrays of every chunk read were half of what a restore from this
 * tier allocated (~170 MB for the Spring Boot example), and the young collections they caused ran
 * on the cores the restore needed. Not mapped from the file either: on a VM where page faults are
 * dear, a mapping per chunk costs its faults and an munmap (store/README.md).
 */
/** The bounded, crash-safe local-disk tier. */
final class DiskTier implements ObjectTier {
    /** Decides, atomically with respect to writers, whether an object may be evicted, and evicts it. */
    interface EvictionGuard {
        /** @return whether {@code key} may ever be evicted (cheap pre-filter) */
        boolean candidate(String key);

        /** Runs {@code evict} if {@code key} may go now. @return whether it ran */
        boolean evictIfAllowed(String key, Runnable evict);
    }

    private static final class Entry {
        final long size;
        final Instant written;
        volatile long lastUse;

        Entry(long size, Instant written, long lastUse) {
            this.size = size;
            this.written = written;
            this.lastUse = lastUse;
        }
    }

    private final Path objects;
    private final Path tmp;
    private final long capacity;
    private final EvictionGuard guard;
    private final ConcurrentHashMap<String, Entry> index = new ConcurrentHashMap<>();
    private final AtomicLong clock = new AtomicLong();
    private long usedBytes;

    DiskTier(Path root, long capacityBytes, EvictionGuard guard) {
        this.objects = root.resolve("objects");
        this.tmp = root.resolve("tmp");
        this.capacity = capacityBytes;
        this.guard = guard;
        try {
            Files.createDirectories(objects);
            Files.createDirectories(tmp);
            clearTemp();
            loadIndex();
        } catch (IOException e) {
            throw StoreException.internal("cannot open the disk tier at " + root + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String name() {
        return "disk";
    }

    @Override
    public boolean local() {
        return true;
    }

    @Override
    public void put(String key, byte[] data) {
        Path target = path(key);
        reserve(key, data.length);
        Path temp = null;
        try {
            Files.createDirectories(target.getParent());
            temp = Files.createTempFile(tmp, "put-", ".tmp");
            writeSynced(temp, data);
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            syncDirectory(target.getParent());
        } catch (IOException e) {
            deleteQuietly(temp);
            release(data.length);
            throw writeFailure(key, data.length, e);
        }
        Entry previous = index.put(key, new Entry(data.length, Instant.now(), clock.incrementAndGet()));
        if (previous != null) {
            release(previous.size);
        }
    }

    @Override
    public byte[] get(String key) {
        try {
            return read(key, object -> object.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        } catch (IntegrityFailure impossible) {
            throw new IllegalStateException(impossible); // the reader above verifies nothing
        }
    }

    @Override
    public <T> T read(String key, Reader<T> reader) throws IntegrityFailure {
        Entry entry = index.get(key);
        if (entry == null) {
            return null;
        }
        try (FileChannel channel = FileChannel.open(path(key), StandardOpenOption.READ)) {
            long size = channel.size();
            ByteBuffer buffer = readBuffer((int) size);
            while (buffer.hasRemaining() && channel.read(buffer, buffer.position()) >= 0) {
                // until the whole object is in (a short read only happens at the end of the file)
            }
            if (buffer.hasRemaining()) {
                throw new IOException("object shrank while being read: " + buffer.position() + " of " + size + " bytes");
            }
            entry.lastUse = clock.incrementAndGet();
            return reader.read(java.lang.foreign.MemorySegment.ofBuffer(buffer.flip()));
        } catch (NoSuchFileException e) {
            forget(key);
            return null;
        } catch (IOException e) {
            throw StoreException.internal("cannot read object " + key + " from the disk tier: " + e.getMessage(), e);
        }
    }

    /**
     * Per reading platform thread (the store's fetch threads): a direct buffer as large as the
     * largest object it read, reused. So a reader must not read this tier again from inside its
     * callback: it would get the same buffer.
     */
    private static final ThreadLocal<ByteBuffer> READ_BUFFERS = new ThreadLocal<>();

    /** @return a buffer for one read, cleared and limited to {@code size} bytes */
    private static ByteBuffer readBuffer(int size) {
        if (Thread.currentThread().isVirtual()) {
            // a node's restore or request thread reading a manifest: a buffer kept for the thread
            // would die with it, leaving native memory to the collector after every such read
            return ByteBuffer.allocate(size);
        }
        ByteBuffer buffer = READ_BUFFERS.get();
        if (buffer == null || buffer.capacity() < size) {
            buffer = ByteBuffer.allocateDirect(Math.max(size, 64 << 10));
            READ_BUFFERS.set(buffer);
        }
        return buffer.clear().limit(size);
    }

    @Override
    public boolean exists(String key) {
        return index.containsKey(key);
    }

    @Override
    public void delete(String key) {
        try {
            Files.deleteIfExists(path(key));
        } catch (IOException e) {
            throw StoreException.internal("cannot delete object " + key + " from the disk tier: " + e.getMessage(), e);
        }
        forget(key);
    }

    @Override
    public List<ObjectInfo> list(String prefix) {
        return index.entrySet().stream().filter(e -> e.getKey().startsWith(prefix))
                .map(e -> new ObjectInfo(e.getKey(), e.getValue().size, e.getValue().written)).toList();
    }

    @Override
    public synchronized long storedBytes() {
        return usedBytes;
    }

    @Override
    public long capacityBytes() {
        return capacity;
    }

    @Override
    public void close() {
        // nothing buffered: every write is synced before put returns
    }

    Path path(String key) {
        int slash = key.indexOf('/');
        if (slash != 1 || key.length() < 5 || !key.substring(2).matches("[0-9a-f]+")) {
            throw new IllegalArgumentException("not an object name: " + key);
        }
        String name = key.substring(2);
        return objects.resolve(key.substring(0, 1)).resolve(name.substring(0, 2)).resolve(name.substring(2));
    }

    private synchronized void reserve(String key, long bytes) {
        if (bytes > capacity) {
            throw new StoreException.Full("disk tier full: object " + key + " (" + bytes + " bytes) exceeds its capacity of "
                    + capacity + " bytes", null);
        }
        if (usedBytes + bytes > capacity) {
            evict(usedBytes + bytes - capacity, key);
        }
        usedBytes += bytes;
    }

    private void evict(long needed, String forKey) {
        long freed = 0;
        List<java.util.Map.Entry<String, Entry>> candidates = index.entrySet().stream()
                .filter(e -> guard.candidate(e.getKey()))
                .sorted(Comparator.comparingLong(e -> e.getValue().lastUse)).toList();
        for (var candidate : candidates) {
            if (freed >= needed) {
                return;
            }
            if (guard.evictIfAllowed(candidate.getKey(), () -> delete(candidate.getKey()))) {
                freed += candidate.getValue().size;
            }
        }
        if (freed < needed) {
            throw new StoreException.Full("disk tier full: writing " + forKey + " needs " + needed + " more bytes of its "
                    + capacity + "; only " + freed + " could be evicted, the rest are manifests or chunks waiting for"
                    + " their upload to S3", null);
        }
    }

    private synchronized void release(long bytes) {
        usedBytes -= bytes;
    }

    private void forget(String key) {
        Entry removed = index.remove(key);
        if (removed != null) {
            release(removed.size);
        }
    }

    private static StoreException writeFailure(String key, int bytes, IOException e) {
        String reason = e instanceof FileSystemException fse && fse.getReason() != null ? fse.getReason() : e.getMessage();
        if (reason != null && reason.contains("No space left")) {
            return new StoreException.Full("disk tier full: no space left on the device writing " + key + " (" + bytes
                    + " bytes); nothing was written", e);
        }
        return StoreException.internal("cannot write " + key + " to the disk tier: " + reason, e);
    }

    private static void writeSynced(Path file, byte[] data) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.wrap(data);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
    }

    private static void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    private static void deleteQuietly(Path file) {
        if (file != null) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // the temp directory is cleared when the tier opens
            }
        }
    }

    private void clearTemp() throws IOException {
        try (Stream<Path> leftovers = Files.list(tmp)) {
            for (Path p : leftovers.toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private void loadIndex() throws IOException {
        record Found(String key, long size, Instant modified) {
        }
        List<Found> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(objects)) {
            for (Path p : files.filter(Files::isRegularFile).toList()) {
                Path rel = objects.relativize(p);
                if (rel.getNameCount() == 3) {
                    String key = rel.getName(0) + "/" + rel.getName(1) + rel.getName(2);
                    found.add(new Found(key, Files.size(p), Files.getLastModifiedTime(p).toInstant()));
                }
            }
        }
        found.sort(Comparator.comparing(Found::modified));
        for (Found f : found) {
            index.put(f.key(), new Entry(f.size(), f.modified(), clock.incrementAndGet()));
            usedBytes += f.size();
        }
    }
}
