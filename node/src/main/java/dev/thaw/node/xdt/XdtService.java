package dev.thaw.node.xdt;

import dev.thaw.node.pool.Scheduler;
import dev.thaw.node.pool.Ticker;
import dev.thaw.protocol.RuntimeProtocol.Headers;
import dev.thaw.store.ScratchObjects;
import dev.thaw.store.StoreException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Pattern;

/*
 * Expedited data transfers, the node's side (docs/DESIGN.md, "Expedited data transfers").
 *
 * Put: a function's instance streams bytes to its own Runtime API endpoint; they go into this
 * node's buffers (XdtBuffers: memory, then disk), and the instance gets a reference
 * (ReferenceCodec) naming this node, the object, its size, its expiry, reads and readers, as soon
 * as the last byte is in. A durable put is also copied to S3 in the background (DurableCopies).
 *
 * Get: a function's instance hands a reference to its own endpoint; the reader is the function
 * that endpoint serves, never something the function says. The reference is verified (MALFORMED,
 * FORGED, ALTERED), checked (EXPIRED, FOREIGN), then:
 *  - this node's data: one read is claimed (USED_UP), and the bytes go from the buffer straight to
 *    the instance's socket, with a Content-Length, no copy through S3 or the heap, and no hash:
 *    they never left the node;
 *  - another node's: the directory says where it is (NodeDirectory), this node pulls with a signed
 *    request (PeerAuth, PeerClient), the producer checks the reference, the reader and the reads
 *    again and streams, hashing the bytes as they go out, and ends with their SHA-256, signed
 *    (PeerAuth.signDigest); this node passes the bytes on as they arrive (chunked), hashing them,
 *    and ends with a trailer saying whether they matched (VerifyingRelay);
 *  - a node that cannot be reached, has left, or lost the data (it restarted): a durable put is
 *    read from its S3 copy the same way (the copy ends with its own signed digest); otherwise the
 *    reader gets LOST, naming the node.
 * Hashing where bytes leave the node instead of at the put keeps SHA-256 (a core's worth of work
 * per ~2 GB here) off the producer's path, and off every transfer within one node.
 * A read that fails before its last byte gives its claim back.
 */
/** The node's transfers (see the comment above). */
public final class XdtService implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("thaw.xdt");
    private static final Pattern FUNCTION_NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    /** Node ids as the cluster allows them. */
    public static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    static final int MAX_READS = 10_000;
    static final int MAX_READERS = 32;
    static final long DEFAULT_TTL_MS = 300_000;
    private static final int PUT_BUFFER = 256 * 1024;

    /**
     * @param nodeId this node's id in references
     * @param listenHost the transfer listener's address (127.0.0.1 for a node alone; a cluster's
     *     nodes listen where the others reach them)
     * @param listenPort its port (0: any free one)
     * @param advertise {@code host:port} other nodes reach the listener at, when not the bound one
     * @param memoryBytes bound of buffered data in memory
     * @param diskBytes bound of buffered data on disk
     * @param bufferDir where buffered data spills to
     * @param maxTtl the longest time to live a put may ask for
     * @param chunkBytes memory chunk size
     * @param sweepInterval how often expired buffers are freed
     */
    public record Settings(String nodeId, String listenHost, int listenPort, Optional<String> advertise, long memoryBytes,
                           long diskBytes, Path bufferDir, Duration maxTtl, int chunkBytes, Duration sweepInterval) {
    }

    /** The function an instance serves, and where its invocation's transfers are tallied (may be null). */
    public record Caller(String function, TransferTally tally) {
    }

    private final Settings settings;
    private final String address;
    private final ReferenceCodec codec;
    private final PeerAuth auth;
    private final PeerClient peers;
    private final XdtBuffers buffers;
    private final NodeDirectory directory;
    private final DurableCopies durable;
    private final String noDurable;
    private final XdtMetrics metrics;
    private final Ticker ticker;
    private final ExecutorService background;
    /** Hash relayed data beside the transfers (CPU-bound: platform threads, one per core at most two). */
    private final ExecutorService hashers;
    private final PeerServer server;
    /** Reads served from S3 copies by this node, per object: id → {served, expiry}. */
    private final Map<String, long[]> fallbackReads = new ConcurrentHashMap<>();
    private volatile boolean closed;

    /**
     * Starts the transfers: buffers, the transfer listener, the sweeper.
     *
     * @param durableStore where durable copies go; empty when the node has no S3 store
     * @param noDurable why there is no store (for the refusal of a durable put)
     */
    public static XdtService start(Settings settings, TransferKey key, NodeDirectory directory,
                                   Optional<ScratchObjects> durableStore, String noDurable, XdtMetrics metrics, Ticker ticker,
                                   Scheduler scheduler) throws IOException {
        return new XdtService(settings, key, directory, durableStore, noDurable, metrics, ticker, scheduler);
    }

    private XdtService(Settings settings, TransferKey key, NodeDirectory directory, Optional<ScratchObjects> durableStore,
                       String noDurable, XdtMetrics metrics, Ticker ticker, Scheduler scheduler) throws IOException {
        if (!NODE_ID.matcher(settings.nodeId()).matches()) {
            throw new IllegalArgumentException("a node id is 1-64 of letters, digits, '.', '_' or '-', not '"
                    + settings.nodeId() + "'");
        }
        this.settings = settings;
        this.codec = new ReferenceCodec(key);
        this.auth = new PeerAuth(key);
        this.peers = new PeerClient(auth, settings.nodeId(), 3_000, 30_000);
        this.directory = directory;
        this.metrics = metrics;
        this.ticker = ticker;
        this.noDurable = noDurable;
        this.background = Executors.newFixedThreadPool(2, Thread.ofPlatform().daemon().name("thaw-xdt-bg-", 0).factory());
        this.hashers = Executors.newFixedThreadPool(Math.max(1, Math.min(2, Runtime.getRuntime().availableProcessors())),
                Thread.ofPlatform().daemon().name("thaw-xdt-hash-", 0).factory());
        this.durable = durableStore.map(s -> new DurableCopies(s, key, background,
                u -> metrics.uploaded(Boolean.TRUE.equals(u.uploaded), u.size))).orElse(null);
        // freed standard chunks kept for the next puts: no fresh pages to fault in and zero each time
        long pool = Math.min(settings.memoryBytes() / 4, 128L << 20);
        this.buffers = new XdtBuffers(new XdtBuffers.Settings(settings.memoryBytes(), settings.diskBytes(),
                settings.bufferDir(), settings.chunkBytes(), pool), ticker, this::freed);
        this.server = new PeerServer(new InetSocketAddress(settings.listenHost(), settings.listenPort()), this::servePeer);
        this.address = settings.advertise().orElse(settings.listenHost() + ":" + server.port());
        buffers.startSweeping(scheduler, settings.sweepInterval());
        scheduleSweeps(scheduler);
    }

    private void scheduleSweeps(Scheduler scheduler) {
        scheduler.schedule(() -> {
            if (closed) {
                return;
            }
            long now = ticker.epochMillis();
            fallbackReads.values().removeIf(v -> now >= v[1]);
            if (durable != null) {
                background.execute(() -> {
                    try {
                        durable.sweep(ticker.epochMillis());
                    } catch (StoreException e) {
                        LOG.log(System.Logger.Level.DEBUG, "XDT: durable copies not swept now: " + e.getMessage());
                    }
                });
            }
            scheduleSweeps(scheduler);
        }, Duration.ofMinutes(1));
    }

    /** @return this node's id */
    public String nodeId() {
        return settings.nodeId();
    }

    /** @return {@code host:port} where other nodes pull from this one */
    public String address() {
        return address;
    }

    /** @return what the buffers hold */
    public XdtBuffers.Stats stats() {
        return buffers.stats();
    }

    private void freed(XdtBuffers.Entry e) {
        if (e.attachment() instanceof DurableCopies.Upload u && durable != null) {
            durable.discard(u);
        }
    }

    // ---- put -----------------------------------------------------------------------------------

    private record PutOptions(int reads, long ttlMs, List<String> readers, boolean durable) {
    }

    private PutOptions options(HttpExchange ex) {
        int reads;
        long ttl;
        try {
            reads = ex.header(Headers.XDT_READS).map(String::strip).map(Integer::parseInt).orElse(1);
            ttl = ex.header(Headers.XDT_TTL_MS).map(String::strip).map(Long::parseLong).orElse(DEFAULT_TTL_MS);
        } catch (NumberFormatException e) {
            throw new Refusal(Refusal.Reason.INVALID, "reads and time to live must be numbers: " + e.getMessage());
        }
        if (reads < 1 || reads > MAX_READS) {
            throw new Refusal(Refusal.Reason.INVALID, "reads must be 1.." + MAX_READS + ", not " + reads);
        }
        if (ttl < 1 || ttl > settings.maxTtl().toMillis()) {
            throw new Refusal(Refusal.Reason.INVALID, "a time to live of " + ttl + " ms is outside what this node allows"
                    + " (1 ms to " + settings.maxTtl().toSeconds() + " s; thaw up --xdt-max-ttl-s)");
        }
        TreeSet<String> readers = new TreeSet<>();
        for (String r : ex.header(Headers.XDT_READERS).orElse("").split(",")) {
            String name = r.strip();
            if (name.isEmpty()) {
                continue;
            }
            if (!FUNCTION_NAME.matcher(name).matches()) {
                throw new Refusal(Refusal.Reason.INVALID, "not a function name: '" + name + "'");
            }
            readers.add(name);
        }
        if (readers.size() > MAX_READERS) {
            throw new Refusal(Refusal.Reason.INVALID, "at most " + MAX_READERS + " readers, not " + readers.size());
        }
        boolean wantsDurable = ex.header(Headers.XDT_DURABLE).map(v -> v.strip().equalsIgnoreCase("true")).orElse(false);
        if (wantsDurable && durable == null) {
            throw new Refusal(Refusal.Reason.UNAVAILABLE, "durable transfers need the node's S3 store, which this node"
                    + " does not have: " + noDurable);
        }
        return new PutOptions(reads, ttl, List.copyOf(readers), wantsDurable);
    }

    /** Buffers the exchange's body and answers 201 with its reference. */
    public void put(Caller caller, HttpExchange ex) throws IOException {
        long start = System.nanoTime();
        PutOptions o;
        XdtBuffers.Writer w;
        String id = codec.newObjectId();
        try {
            o = options(ex);
            w = buffers.writer(id, ex.contentLength());
        } catch (Refusal r) {
            refuse(ex, r);
            return;
        }
        InputStream body = ex.body();
        try {
            receive(body, w);
        } catch (Refusal r) {
            refuse(ex, r); // the writer aborted itself; the rest of the body is drained
            return;
        } catch (IOException | RuntimeException e) {
            w.abort();
            ex.abandon();
            return;
        }
        long expires = ticker.epochMillis() + o.ttlMs();
        long size = w.written();
        Reference ref = new Reference(settings.nodeId(), address, id, caller.function(), size, expires,
                o.reads(), o.readers(), o.durable());
        DurableCopies.Upload upload = o.durable() ? durable.prepare(id, expires, size) : null;
        w.commit(expires, o.reads(), upload);
        if (upload != null) {
            durable.start(upload, buffers);
        }
        byte[] token = codec.seal(ref).getBytes(StandardCharsets.US_ASCII);
        long nanos = System.nanoTime() - start;
        metrics.put(caller.function(), size, nanos);
        if (caller.tally() != null) {
            caller.tally().put(size, nanos); // before the answer, after which the producer carries on
        }
        ex.respond(201, Map.of("Content-Type", "text/plain; charset=us-ascii"), token);
    }

    /**
     * Reads a put's body into the buffer: straight from the socket into native memory while it
     * lasts, then through a heap buffer to the object's file.
     */
    private static void receive(InputStream body, XdtBuffers.Writer w) throws IOException {
        Http1.DirectBody direct = body instanceof Http1.DirectBody d ? d : null;
        byte[] heap = null;
        while (true) {
            ByteBuffer into = direct == null ? null : w.writable();
            if (into != null) {
                boolean end = false;
                while (into.hasRemaining()) {
                    if (direct.read(into) < 0) {
                        end = true;
                        break;
                    }
                }
                if (into.position() > 0) {
                    w.advance(into.position());
                }
                if (end) {
                    return;
                }
            } else {
                if (heap == null) {
                    heap = new byte[PUT_BUFFER];
                }
                int n = body.read(heap);
                if (n < 0) {
                    return;
                }
                w.write(heap, 0, n);
            }
        }
    }

    // ---- get -----------------------------------------------------------------------------------

    /** Answers the exchange with the data of {@code token}, or with why not. */
    public void get(Caller caller, String token, HttpExchange ex) throws IOException {
        long start = System.nanoTime();
        Reference ref;
        try {
            ref = codec.open(token);
            ref.checkUsableBy(caller.function(), ticker.epochMillis());
        } catch (Refusal r) {
            refuse(ex, r);
            return;
        }
        if (ref.nodeId().equals(settings.nodeId())) {
            local(caller, ref, ex, start);
        } else {
            remote(caller, ref, token, ex, start);
        }
    }

    private static String whose(Reference ref) {
        return "put by function '" + ref.producer() + "'";
    }

    private void local(Caller caller, Reference ref, HttpExchange ex, long start) throws IOException {
        XdtBuffers.Lease lease;
        try {
            lease = buffers.claim(ref.objectId(), whose(ref));
        } catch (Refusal r) {
            if (r.reason() == Refusal.Reason.LOST && ref.durable()) {
                fromS3(caller, ref, ex, start, "this node no longer holds it");
                return;
            }
            refuse(ex, r);
            return;
        }
        try (lease) {
            ex.sendHead(200, Map.of("Content-Type", "application/octet-stream"), lease.size());
            lease.transferTo(ex.channel(), () -> served(caller, "local", ref.size(), start));
            lease.completed();
        } catch (IOException | RuntimeException e) {
            ex.abandon(); // the reader went away: the read is given back
        }
    }

    private void remote(Caller caller, Reference ref, String token, HttpExchange ex, long start) throws IOException {
        String node = "node '" + ref.nodeId() + "'";
        String hostPort = switch (directory.locate(ref.nodeId())) {
            case NodeDirectory.Location.At at -> at.hostPort();
            case NodeDirectory.Location.Unknown unknown -> ref.nodeAddress();
            case NodeDirectory.Location.Gone gone -> {
                lostOrS3(caller, ref, ex, start, node + " has left the cluster (" + gone.why() + ")");
                yield null;
            }
        };
        if (hostPort == null) {
            return;
        }
        PeerClient.Pull pull;
        try {
            pull = peers.pull(hostPort, ref, token, caller.function(), ticker.epochMillis());
        } catch (PeerClient.Unreachable u) {
            lostOrS3(caller, ref, ex, start, node + " cannot be reached (" + u.getMessage() + ")");
            return;
        } catch (Refusal r) {
            if (r.reason() == Refusal.Reason.LOST && ref.durable()) {
                fromS3(caller, ref, ex, start, node + " no longer holds it");
                return;
            }
            refuse(ex, new Refusal(r.reason(), node + " refused the read: " + r.getMessage()));
            return;
        }
        try (pull) {
            VerifyingRelay.Expected signed = () -> {
                if (!(pull.body() instanceof Http1.ChunkedInputStream chunked)) {
                    throw new Refusal(Refusal.Reason.CORRUPTED, "the data from " + node + " came without the signed"
                            + " SHA-256 that must follow it (a node of another version?)");
                }
                return auth.verifyDigest(chunked.trailers(), pull.signature(), ref.objectId(), ref.size(), node);
            };
            relay(caller, ref, pull.body(), signed, node, "remote", ex, start);
        }
    }

    private void lostOrS3(Caller caller, Reference ref, HttpExchange ex, long start, String why) throws IOException {
        if (ref.durable()) {
            fromS3(caller, ref, ex, start, why);
            return;
        }
        refuse(ex, new Refusal(Refusal.Reason.LOST, "the data of this reference (" + whose(ref) + ") was on node '"
                + ref.nodeId() + "': " + why + "; the put was not durable, so the data is lost: run function '"
                + ref.producer() + "' again"));
    }

    private void fromS3(Caller caller, Reference ref, HttpExchange ex, long start, String why) throws IOException {
        if (durable == null) {
            refuse(ex, new Refusal(Refusal.Reason.UNAVAILABLE, "the data of this reference was on node '" + ref.nodeId()
                    + "', which " + why + "; its durable copy is in S3, but this node has no S3 store: " + noDurable));
            return;
        }
        if (!claimFallback(ref)) {
            refuse(ex, new Refusal(Refusal.Reason.USED_UP, "the reference (" + whose(ref)
                    + ") was already read as many times as it allows"));
            return;
        }
        Optional<DurableCopies.Copy> copy;
        try {
            copy = durable.open(ref);
        } catch (StoreException e) {
            giveBackFallback(ref);
            refuse(ex, new Refusal(Refusal.Reason.UNAVAILABLE, "the data of this reference was on node '" + ref.nodeId()
                    + "', which " + why + "; its durable copy cannot be read now: " + e.getMessage()));
            return;
        }
        if (copy.isEmpty()) {
            giveBackFallback(ref);
            refuse(ex, new Refusal(Refusal.Reason.LOST, "the data of this reference was on node '" + ref.nodeId()
                    + "', which " + why + "; it was put durable, but its copy is not in S3 (its upload had not finished"
                    + " or failed, or the copy expired)"));
            return;
        }
        boolean ok;
        try (InputStream in = copy.get().data()) {
            ok = relay(caller, ref, in, copy.get().expected(), "S3", "s3", ex, start);
        }
        if (!ok) {
            giveBackFallback(ref);
        }
    }

    private boolean claimFallback(Reference ref) {
        long[] v = fallbackReads.computeIfAbsent(ref.objectId(), k -> new long[] {0, ref.expiresAtMs()});
        synchronized (v) {
            if (v[0] >= ref.reads()) {
                return false;
            }
            v[0]++;
            return true;
        }
    }

    private void giveBackFallback(Reference ref) {
        long[] v = fallbackReads.get(ref.objectId());
        if (v != null) {
            synchronized (v) {
                v[0] = Math.max(0, v[0] - 1);
            }
        }
    }

    /** Passes data on, chunked, with the verdict in the trailer. @return whether it arrived whole and matched */
    private boolean relay(Caller caller, Reference ref, InputStream source, VerifyingRelay.Expected expected, String from,
                          String kind, HttpExchange ex, long start) throws IOException {
        ex.sendHead(200, Map.of("Content-Type", "application/octet-stream", "Trailer", Headers.XDT_STATUS), -1);
        Http1.ChunkedOutput out = new Http1.ChunkedOutput(ex.channel());
        VerifyingRelay.Outcome o;
        try {
            o = VerifyingRelay.relay(source, ref, expected, from, out::write, hashers);
        } catch (IOException e) {
            ex.abandon();
            return false;
        }
        if (o.ok()) {
            served(caller, kind, ref.size(), start); // before the trailer, after which the reader carries on
        } else {
            metrics.refused(o.failure().reason());
            LOG.log(System.Logger.Level.WARNING, "XDT: " + o.failure().getMessage());
        }
        out.finish(Map.of(Headers.XDT_STATUS, o.ok() ? Headers.XDT_STATUS_OK
                : o.failure().reason().name() + " " + o.failure().getMessage()));
        return o.ok();
    }

    private void served(Caller caller, String source, long bytes, long start) {
        long nanos = System.nanoTime() - start;
        metrics.get(caller.function(), source, bytes, nanos);
        if (caller.tally() != null) {
            caller.tally().get(bytes, nanos, source);
        }
    }

    // ---- serving other nodes -------------------------------------------------------------------

    private void servePeer(String path, SocketExchange ex) throws IOException {
        if (!ex.method().equals("GET") || !path.startsWith(PeerClient.PATH)) {
            ex.respond(404, Map.of("Content-Type", "text/plain"), "no such route".getBytes(StandardCharsets.US_ASCII));
            return;
        }
        String id = path.substring(PeerClient.PATH.length());
        XdtBuffers.Lease lease;
        Reference ref;
        try {
            long now = ticker.epochMillis();
            auth.verify(path, ex.head(), now);
            ref = codec.open(ex.head().header(PeerAuth.REFERENCE));
            if (!ref.nodeId().equals(settings.nodeId()) || !ref.objectId().equals(id)) {
                throw new Refusal(Refusal.Reason.LOST, "node '" + settings.nodeId() + "' does not hold the data of this"
                        + " reference: it names node '" + ref.nodeId() + "'");
            }
            ref.checkUsableBy(ex.head().header(PeerAuth.READER), now);
            lease = buffers.claim(id, whose(ref));
        } catch (Refusal r) {
            refuse(ex, r);
            return;
        }
        try (lease) {
            ex.sendHead(200, Map.of("Content-Type", "application/octet-stream", "Trailer", PeerAuth.SHA256 + ", "
                    + PeerAuth.DIGEST_SIGNATURE), -1);
            Http1.ChunkedOutput out = new Http1.ChunkedOutput(ex.channel());
            HashingChannel hashing = new HashingChannel(out);
            lease.transferTo(hashing);
            out.finish(auth.signDigest(ex.head().header(PeerAuth.SIGNATURE), id, lease.size(), hashing.digest()));
            lease.completed();
            metrics.served(lease.size());
        } catch (IOException | RuntimeException e) {
            ex.abandon();
        }
    }

    /** Sends each buffer as a chunk and hashes it on the way (a direct buffer is hashed in place). */
    private static final class HashingChannel implements java.nio.channels.WritableByteChannel {
        private final Http1.ChunkedOutput out;
        private final MessageDigest md = sha256();

        HashingChannel(Http1.ChunkedOutput out) {
            this.out = out;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            int n = src.remaining();
            md.update(src.duplicate());
            out.write(src);
            return n;
        }

        byte[] digest() {
            return md.digest();
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
        }
    }

    private void refuse(HttpExchange ex, Refusal r) throws IOException {
        metrics.refused(r.reason());
        PeerServer.refuse(ex, r);
    }

    /** @return a new SHA-256 digest (every JDK has one) */
    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Stops the listener and frees every buffer. */
    @Override
    public void close() {
        closed = true;
        server.close();
        background.shutdownNow();
        hashers.shutdownNow();
        buffers.close();
    }

    /** @return the reasons a function can be told, for tests that compare them with the API's */
    static List<String> reasons() {
        return new ArrayList<>(Arrays.stream(Refusal.Reason.values()).map(Enum::name).toList());
    }
}
