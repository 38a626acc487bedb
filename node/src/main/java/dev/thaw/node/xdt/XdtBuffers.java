package dev.thaw.node.xdt;

import dev.thaw.node.pool.Scheduler;
import dev.thaw.node.pool.Ticker;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/*
 * The node's transfer buffers: where put data waits for its readers.
 *
 * An object's bytes go to native memory first, in chunks (1 MiB by default; a put of known smaller
 * size gets one chunk of its own size), while the memory bound allows; the rest goes to a file of
 * its own under the data directory while the disk bound allows. A put that fits in neither is
 * refused (FULL) and what it wrote is freed at once. Nothing is on the Java heap: reads write
 * straight from native memory and from the file (sendfile) to a socket. Standard chunks go back to
 * a small pool when freed (so a steady stream of transfers does not map, fault and zero fresh pages
 * each time); beyond the pool, and for odd sizes, their memory is returned to the OS.
 *
 * Each object allows a number of reads and expires at a wall-clock time (references carry epoch
 * times, which every node can check). A read claims one of the object's reads and holds a lease;
 * a read that does not finish gives its claim back; the object is freed as soon as its last read
 * finished, or once it expired and no read holds it. The sweeper (an injected scheduler and clock)
 * frees what expired. An object freed because it was used up leaves a tombstone until its expiry,
 * so a later read is told USED_UP rather than that the data is lost.
 *
 * A reader gets an object's last bytes a moment before that object is freed, and in a chain it
 * may answer, and its next step put, within that moment. So a put that finds no room while an
 * object's every read is claimed and under way waits for it (at most DRAIN_WAIT per put) before
 * it goes to disk or is refused: room that is about to be given back is not reported as full.
 */
/** Memory-then-disk buffers of put data, with read accounting and expiry (see the comment above). */
public final class XdtBuffers implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("thaw.xdt");
    /** First chunk of a put of unknown length: small puts should not pin a whole standard chunk. */
    private static final int FIRST_CHUNK = 64 * 1024;
    /** The longest a put waits, in all, for objects being read for the last time to be freed. */
    static final Duration DRAIN_WAIT = Duration.ofSeconds(1);

    /**
     * @param memoryBytes bound of native memory held by objects
     * @param diskBytes bound of bytes held in files
     * @param diskDir where the files go (emptied at start and at close)
     * @param chunkBytes size of a standard memory chunk
     * @param poolBytes freed standard chunks kept for reuse, at most this many bytes
     */
    public record Settings(long memoryBytes, long diskBytes, Path diskDir, int chunkBytes, long poolBytes) {
        public Settings {
            if (memoryBytes < 0 || diskBytes < 0) {
                throw new IllegalArgumentException("XDT buffer bounds must be >= 0, got memory " + memoryBytes
                        + " and disk " + diskBytes);
            }
            if (chunkBytes < 4096) {
                throw new IllegalArgumentException("XDT chunks must be at least 4096 bytes, got " + chunkBytes);
            }
        }
    }

    /** What the buffers hold now. */
    public record Stats(long memoryBytes, long diskBytes, int objects, int tombstones, long pooledBytes,
                        long memoryBound, long diskBound) {
    }

    private final Settings settings;
    private final Ticker ticker;
    private final AtomicLong memoryUsed = new AtomicLong();
    private final AtomicLong diskUsed = new AtomicLong();
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    /** Objects freed because every read was used: id → expiry (ms since the epoch). */
    private final Map<String, Long> usedUp = new ConcurrentHashMap<>();
    private final ArrayDeque<Chunk> pool = new ArrayDeque<>();
    /** Held while an object leaves (see {@link #forget}) and while {@link #stats} reads. */
    private final Object accounting = new Object();
    /** Counts objects freed; waited on by puts that wait for room (see {@link #awaitDrain}). */
    private final AtomicLong frees = new AtomicLong();
    private final Object room = new Object();
    private final Consumer<Entry> freed;
    private volatile boolean closed;

    /**
     * @param freed told of every object freed, after its memory and file are gone (durable copies are deleted there)
     */
    public XdtBuffers(Settings settings, Ticker ticker, Consumer<Entry> freed) {
        this.settings = settings;
        this.ticker = ticker;
        this.freed = freed;
        try {
            Files.createDirectories(settings.diskDir());
            try (var leftovers = Files.list(settings.diskDir())) {
                for (Path p : leftovers.toList()) {
                    Files.deleteIfExists(p); // a node that stopped without closing: its buffers are gone anyway
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the XDT buffer directory " + settings.diskDir() + ": "
                    + e.getMessage(), e);
        }
    }

    /** Sweeps every {@code interval} on {@code scheduler}, until closed. */
    public void startSweeping(Scheduler scheduler, Duration interval) {
        scheduler.schedule(() -> {
            if (closed) {
                return;
            }
            try {
                sweep();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "XDT sweep failed: " + e);
            }
            startSweeping(scheduler, interval);
        }, interval);
    }

    // ---- memory chunks -------------------------------------------------------------------------

    /** A piece of native memory, in an arena of its own so it can be given back alone. */
    private record Chunk(Arena arena, MemorySegment segment) {
        long capacity() {
            return segment.byteSize();
        }
    }

    /**
     * @param drain when this put stops waiting for objects being read (see {@link #awaitDrain})
     * @return a chunk of this size, its bytes reserved against the bound; null when the bound is reached
     */
    private Chunk allocate(int size, Drain drain) {
        if (!reserveOrAwait(memoryUsed, size, settings.memoryBytes(), drain)) {
            return null;
        }
        if (size == settings.chunkBytes()) {
            synchronized (pool) {
                Chunk c = pool.pollFirst();
                if (c != null) {
                    return c;
                }
            }
        }
        try {
            Arena arena = Arena.ofShared();
            return new Chunk(arena, arena.allocate(size, 64));
        } catch (OutOfMemoryError | RuntimeException e) {
            memoryUsed.addAndGet(-size);
            throw new Refusal(Refusal.Reason.FULL, "the node could not allocate " + size + " bytes of native memory for"
                    + " transfers: " + e.getMessage());
        }
    }

    private static boolean reserve(AtomicLong used, long bytes, long bound) {
        long now;
        do {
            now = used.get();
            if (now + bytes > bound) {
                return false;
            }
        } while (!used.compareAndSet(now, now + bytes));
        return true;
    }

    /** How long one put may still wait for room: {@link #DRAIN_WAIT} in all, from its first wait. */
    private static final class Drain {
        private long deadlineNanos;
        private boolean started;

        long nanosLeft() {
            if (!started) {
                started = true;
                deadlineNanos = System.nanoTime() + DRAIN_WAIT.toNanos();
            }
            return deadlineNanos - System.nanoTime();
        }
    }

    /** Reserves {@code bytes} under {@code bound}, waiting as {@link #awaitDrain} does while there is no room. */
    private boolean reserveOrAwait(AtomicLong used, long bytes, long bound, Drain drain) {
        while (true) {
            long seen = frees.get(); // before looking: a free in between is then seen, not slept through
            if (reserve(used, bytes, bound)) {
                return true;
            }
            if (!awaitDrain(drain, seen)) {
                return false;
            }
        }
    }

    /**
     * Waits for an object to be freed, while some object is about to give its bytes back (every
     * read claimed and under way, or its free in progress) and the put's wait is not used up.
     *
     * @param seen {@link #frees} when the caller last found no room
     * @return true when an object was freed since (look for room again), false to go on without
     */
    private boolean awaitDrain(Drain drain, long seen) {
        if (frees.get() != seen) {
            return true;
        }
        if (!anyAboutToBeFreed()) {
            return frees.get() != seen; // one may have been freed while we looked
        }
        synchronized (room) {
            while (frees.get() == seen) {
                long left = drain.nanosLeft();
                if (left <= 0 || closed) {
                    return false;
                }
                try {
                    room.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return true;
    }

    /** An object freed is still held until its bytes are back (see {@link #forget}): counted here. */
    private boolean anyAboutToBeFreed() {
        for (Entry e : entries.values()) {
            synchronized (e) {
                if (e.freedFlag || (e.readsLeft == 0 && e.leases > 0)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Wakes the puts waiting for room; called after bytes were given back. */
    private void signalFreed() {
        frees.incrementAndGet();
        synchronized (room) {
            room.notifyAll();
        }
    }

    private void release(Chunk c) {
        memoryUsed.addAndGet(-c.capacity());
        if (c.capacity() == settings.chunkBytes() && !closed) {
            synchronized (pool) {
                if ((long) (pool.size() + 1) * c.capacity() <= settings.poolBytes()) {
                    pool.addFirst(c);
                    return;
                }
            }
        }
        c.arena().close();
    }

    // ---- objects -------------------------------------------------------------------------------

    /** One object: its chunks, then its file, its read accounting and expiry. */
    public final class Entry {
        final String id;
        private final List<Chunk> chunks = new ArrayList<>();
        /** Bytes in chunks (the last one may be partly filled). */
        private long memoryData;
        private Path path;
        private FileChannel file;
        private long fileBytes;
        private long size;
        private long expiresAtMs;
        private int readsLeft;
        private int leases;
        private boolean freedFlag;
        /** What the service keeps with the object (its durable copy's state); set once at commit. */
        volatile Object attachment;

        Entry(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }

        public synchronized long size() {
            return size;
        }

        public synchronized long expiresAtMs() {
            return expiresAtMs;
        }

        /** @return what the service attached at commit */
        public Object attachment() {
            return attachment;
        }

        /** @return the bytes this object holds in memory and on disk */
        synchronized long[] placement() {
            return new long[] {memoryData, fileBytes};
        }

        private void free() {
            for (Chunk c : chunks) {
                release(c);
            }
            chunks.clear();
            if (file != null) {
                try {
                    file.close();
                    Files.deleteIfExists(path);
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.WARNING, "cannot delete XDT buffer file " + path + ": " + e.getMessage());
                }
                diskUsed.addAndGet(-fileBytes);
                file = null;
            }
            signalFreed();
        }
    }

    /** Writes one object; {@link #commit} makes it readable, {@link #abort} frees what was written. */
    public final class Writer implements AutoCloseable {
        private final Entry e;
        private final long lengthHint;
        private Chunk current;
        private long currentUsed;
        private boolean done;
        private final Drain drain;

        Writer(Entry e, long lengthHint, Drain drain) {
            this.e = e;
            this.lengthHint = lengthHint;
            this.drain = drain;
        }

        /** @return bytes written so far */
        public long written() {
            return e.size;
        }

        /**
         * Appends bytes: into memory while the bound allows, then to the object's file.
         *
         * @throws Refusal {@code FULL} when neither has room left; the writer is then aborted
         */
        public void write(byte[] b, int off, int len) {
            try {
                while (len > 0) {
                    if (e.file == null && (current == null || currentUsed == current.capacity())) {
                        current = nextChunk();
                        currentUsed = 0;
                    }
                    if (current != null && e.file == null) {
                        int n = (int) Math.min(len, current.capacity() - currentUsed);
                        MemorySegment.copy(b, off, current.segment(), ValueLayout.JAVA_BYTE, currentUsed, n);
                        currentUsed += n;
                        e.memoryData += n;
                        e.size += n;
                        off += n;
                        len -= n;
                    } else {
                        toDisk(b, off, len);
                        return;
                    }
                }
            } catch (Refusal r) {
                abort();
                throw r;
            }
        }

        /**
         * @return the free part of the current memory chunk (a new chunk when it is full), for a
         *     caller that reads straight into it and then calls {@link #advance}; null once memory
         *     is full (go on with {@link #write}, which goes to the file)
         */
        public ByteBuffer writable() {
            if (e.file != null || done) {
                return null;
            }
            if (current == null || currentUsed == current.capacity()) {
                current = nextChunk();
                currentUsed = 0;
                if (current == null) {
                    return null;
                }
            }
            return current.segment().asSlice(currentUsed).asByteBuffer();
        }

        /** {@code n} bytes were put into the buffer {@link #writable()} returned. */
        public void advance(int n) {
            currentUsed += n;
            e.memoryData += n;
            e.size += n;
        }

        /** @return the next memory chunk, or null to go on in the file */
        private Chunk nextChunk() {
            long expectedLeft = lengthHint >= 0 ? lengthHint - e.size : -1;
            int size;
            if (e.chunks.isEmpty() && expectedLeft >= 0 && expectedLeft < settings.chunkBytes()) {
                size = (int) Math.max(expectedLeft, 1);
            } else if (e.chunks.isEmpty() && expectedLeft < 0) {
                size = Math.min(FIRST_CHUNK, settings.chunkBytes());
            } else {
                size = settings.chunkBytes();
            }
            Chunk c = allocate(size, drain);
            if (c != null) {
                e.chunks.add(c);
            }
            return c;
        }

        private void toDisk(byte[] b, int off, int len) {
            if (!reserveOrAwait(diskUsed, len, settings.diskBytes(), drain)) {
                throw full(len);
            }
            e.fileBytes += len; // reserved: freed with the file whatever happens next
            try {
                if (e.file == null) {
                    e.path = settings.diskDir().resolve(e.id + ".buf");
                    e.file = FileChannel.open(e.path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                            StandardOpenOption.WRITE);
                }
                Http1.writeFully(e.file, ByteBuffer.wrap(b, off, len));
                e.size += len;
            } catch (IOException x) {
                throw new Refusal(Refusal.Reason.FULL, "the node could not write transfer data to "
                        + settings.diskDir() + ": " + x.getMessage(), x);
            }
        }

        private Refusal full(long wanted) {
            return new Refusal(Refusal.Reason.FULL, String.format(java.util.Locale.ROOT,
                    "the node's transfer buffers are full: memory %s of %s and disk %s of %s in use, %s more needed;"
                            + " free them by reading or letting references expire, or raise --xdt-memory-mib and"
                            + " --xdt-disk-mib", mib(memoryUsed.get()), mib(settings.memoryBytes()), mib(diskUsed.get()),
                    mib(settings.diskBytes()), mib(wanted)));
        }

        /**
         * Makes the object readable.
         *
         * @param expiresAtMs when it expires (ms since the epoch)
         * @param reads how many reads it allows
         * @param attachment what the service keeps with it
         * @return the object
         */
        public Entry commit(long expiresAtMs, int reads, Object attachment) {
            if (done) {
                throw new IllegalStateException("object " + e.id + " was already committed or aborted");
            }
            done = true;
            synchronized (e) {
                e.expiresAtMs = expiresAtMs;
                e.readsLeft = reads;
                e.attachment = attachment;
                if (e.file != null) {
                    try {
                        e.file.force(false); // nothing, but a read must see every byte: the channel is shared
                    } catch (IOException x) {
                        // reads use the same channel; force only matters for a crash, which loses buffers anyway
                    }
                }
            }
            entries.put(e.id, e);
            return e;
        }

        /** Frees what was written; the object never becomes readable. */
        public void abort() {
            if (done) {
                return;
            }
            done = true;
            synchronized (e) {
                e.freedFlag = true;
                e.free();
            }
        }

        @Override
        public void close() {
            abort();
        }
    }

    /**
     * @param id the new object's id (unique)
     * @param lengthHint its length when known (a {@code Content-Length}), else -1
     * @return a writer for it
     */
    public Writer writer(String id, long lengthHint) {
        if (closed) {
            throw new Refusal(Refusal.Reason.UNAVAILABLE, "the node is shutting down");
        }
        Drain drain = new Drain();
        for (long seen = frees.get();
                lengthHint > settings.memoryBytes() - memoryUsed.get() + settings.diskBytes() - diskUsed.get();
                seen = frees.get()) {
            if (!awaitDrain(drain, seen)) {
                // known too large: refuse before a byte is read (the caller still drains the body)
                Writer w = new Writer(new Entry(id), lengthHint, drain);
                w.done = true;
                throw w.full(lengthHint);
            }
        }
        return new Writer(new Entry(id), lengthHint, drain);
    }

    /** A read of an object: its bytes, while the object cannot be freed. */
    public final class Lease implements AutoCloseable {
        private final Entry e;
        private final boolean countsAsRead;
        private boolean closed;
        private boolean completed;

        Lease(Entry e, boolean countsAsRead) {
            this.e = e;
            this.countsAsRead = countsAsRead;
        }

        public Entry entry() {
            return e;
        }

        public long size() {
            return e.size;
        }

        /** Writes every byte of the object to {@code ch}: native memory straight to the channel, the file by sendfile. */
        public void transferTo(WritableByteChannel ch) throws IOException {
            transferTo(ch, () -> { });
        }

        /**
         * As {@link #transferTo(WritableByteChannel)}, running {@code beforeLastBytes} before the
         * last bytes go out: whatever the reader does once it has them (answer its invocation) comes
         * after what the node records of the transfer.
         */
        public void transferTo(WritableByteChannel ch, Runnable beforeLastBytes) throws IOException {
            long tail = Math.min(e.size, 64 * 1024);
            range(ch, 0, e.size - tail);
            beforeLastBytes.run();
            range(ch, e.size - tail, e.size);
        }

        /** Writes bytes {@code [from, to)} of the object. */
        private void range(WritableByteChannel ch, long from, long to) throws IOException {
            long chunkStart = 0;
            for (Chunk c : e.chunks) {
                long chunkEnd = Math.min(chunkStart + c.capacity(), e.memoryData);
                long a = Math.max(from, chunkStart);
                long b = Math.min(to, chunkEnd);
                if (a < b) {
                    Http1.writeFully(ch, c.segment().asSlice(a - chunkStart, b - a).asByteBuffer());
                }
                chunkStart += c.capacity();
                if (chunkStart >= e.memoryData || chunkStart >= to) {
                    break;
                }
            }
            if (e.file != null && to > e.memoryData) {
                long pos = Math.max(from, e.memoryData) - e.memoryData;
                long end = to - e.memoryData;
                while (pos < end) {
                    long n = e.file.transferTo(pos, end - pos, ch);
                    if (n <= 0 && !ch.isOpen()) {
                        throw new IOException("the connection closed during the transfer");
                    }
                    pos += n;
                }
            }
        }

        /** @return the object's bytes as a stream (for uploads), reading in place */
        public InputStream stream() {
            return new InputStream() {
                private long pos;

                @Override
                public int read() throws IOException {
                    byte[] one = new byte[1];
                    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (pos >= e.size) {
                        return -1;
                    }
                    if (len == 0) {
                        return 0;
                    }
                    if (pos < e.memoryData) {
                        long skip = pos;
                        for (Chunk c : e.chunks) {
                            if (skip < c.capacity()) {
                                int n = (int) Math.min(len, Math.min(c.capacity() - skip, e.memoryData - pos));
                                MemorySegment.copy(c.segment(), ValueLayout.JAVA_BYTE, skip, b, off, n);
                                pos += n;
                                return n;
                            }
                            skip -= c.capacity();
                        }
                    }
                    int n = e.file.read(ByteBuffer.wrap(b, off, (int) Math.min(len, e.size - pos)), pos - e.memoryData);
                    if (n < 0) {
                        throw new java.io.EOFException("the buffer file ended early");
                    }
                    pos += n;
                    return n;
                }
            };
        }

        /** The read got every byte to its reader: it stays counted. */
        public void completed() {
            completed = true;
        }

        /** Ends the lease; a counted read that did not complete is given back. */
        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            boolean free;
            synchronized (e) {
                e.leases--;
                if (countsAsRead && !completed) {
                    e.readsLeft++;
                }
                free = !e.freedFlag && e.leases == 0 && (e.readsLeft == 0 || ticker.epochMillis() >= e.expiresAtMs);
                if (free) {
                    e.freedFlag = true;
                    if (e.readsLeft == 0) {
                        usedUp.put(e.id, e.expiresAtMs);
                    }
                    forget(e);
                }
            }
            if (free) {
                freed.accept(e);
            }
        }
    }

    /**
     * Claims one read of an object.
     *
     * @param whose names the reference in messages (e.g. "put by function 'p'")
     * @throws Refusal {@code USED_UP} when its reads are used, {@code EXPIRED} after its expiry,
     *     {@code LOST} when this node does not hold it (freed, or never here: a restart)
     */
    public Lease claim(String id, String whose) {
        Entry e = entries.get(id);
        if (e == null) {
            if (usedUp.containsKey(id)) {
                throw new Refusal(Refusal.Reason.USED_UP, "the reference (" + whose + ") was already read as many times"
                        + " as it allows");
            }
            throw new Refusal(Refusal.Reason.LOST, "this node does not hold the data of the reference (" + whose
                    + ") any more: it was freed, or the node restarted since");
        }
        synchronized (e) {
            if (e.freedFlag) {
                return claim(id, whose);
            }
            if (ticker.epochMillis() >= e.expiresAtMs) {
                throw new Refusal(Refusal.Reason.EXPIRED, "the reference (" + whose + ") expired");
            }
            if (e.readsLeft == 0) {
                throw new Refusal(Refusal.Reason.USED_UP, "the reference (" + whose + ") is being read as many times as"
                        + " it allows");
            }
            e.readsLeft--;
            e.leases++;
            return new Lease(e, true);
        }
    }

    /** @return a lease that does not count as a read (a durable upload), or empty when the object is gone */
    public Optional<Lease> pin(String id) {
        Entry e = entries.get(id);
        if (e == null) {
            return Optional.empty();
        }
        synchronized (e) {
            if (e.freedFlag) {
                return Optional.empty();
            }
            e.leases++;
            return Optional.of(new Lease(e, false));
        }
    }

    /** @return whether the object is still held */
    public boolean holds(String id) {
        return entries.containsKey(id);
    }

    /** Frees every object that expired and no read holds; forgets tombstones past their expiry. */
    public void sweep() {
        long now = ticker.epochMillis();
        for (Entry e : entries.values()) {
            boolean free = false;
            synchronized (e) {
                if (!e.freedFlag && e.leases == 0 && now >= e.expiresAtMs) {
                    e.freedFlag = true;
                    forget(e);
                    free = true;
                }
            }
            if (free) {
                freed.accept(e);
            }
        }
        usedUp.values().removeIf(expiry -> now >= expiry);
    }

    /** @return what the buffers hold now */
    public Stats stats() {
        long pooled;
        synchronized (pool) {
            pooled = (long) pool.size() * settings.chunkBytes();
        }
        synchronized (accounting) {
            return new Stats(memoryUsed.get(), diskUsed.get(), entries.size(), usedUp.size(), pooled,
                    settings.memoryBytes(), settings.diskBytes());
        }
    }

    /**
     * Drops a freed object from those held and gives its bytes back, as one step for {@link #stats}:
     * a reader of the stats never sees the object gone while its bytes are still counted, nor the
     * other way round. Called with the object's lock held.
     */
    private void forget(Entry e) {
        synchronized (accounting) {
            e.free(); // then removed: a put looking for room meanwhile sees it held and being freed
            entries.remove(e.id);
        }
    }

    /** Frees everything; reads in progress fail. */
    @Override
    public void close() {
        closed = true;
        for (Entry e : entries.values()) {
            synchronized (e) {
                e.freedFlag = true;
                e.free();
            }
        }
        entries.clear();
        synchronized (pool) {
            pool.forEach(c -> c.arena().close());
            pool.clear();
        }
    }

    static String mib(long bytes) {
        return bytes >= (1 << 20) ? String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0)
                : String.format(java.util.Locale.ROOT, "%.1f KiB", bytes / 1024.0);
    }
}
