package dev.thaw.store;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Properties;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;

/*
 * An S3-compatible server inside the JVM: S3Proxy over jclouds' filesystem backend, for the
 * store's default remote tier and for tests. It binds 127.0.0.1 only, on a free port chosen by the
 * OS (read back after start), and keeps that port across stop()/restart() so that clients keep
 * their endpoint. Credentials are random per instance: the server is reachable from this machine
 * only and nothing outside this JVM needs them. S3Proxy's threads are not daemons: close() must be
 * called or the JVM does not exit.
 */
/** An embedded S3-compatible server (S3Proxy) storing its objects in a local directory. */
public final class EmbeddedS3 implements AutoCloseable {
    private static final String REGION = "us-east-1";
    /**
     * jclouds' blob store log. Held: a logger nobody references may be collected with its filter.
     * When an upload's client goes away before the body it announced has arrived (a node stopping
     * mid-upload), jclouds logs a SEVERE record with the whole stack: for this store a normal event
     * (an upload not finished resumes at the next start), which read as a failure in the node's
     * output. Such a record is demoted to FINE, without its stack; every other record passes as is.
     */
    private static final java.util.logging.Logger BLOBSTORE_LOG = quietWhenTheClientWentAway(
            java.util.logging.Logger.getLogger("jclouds.blobstore"));
    private static final long START_TIMEOUT_NANOS = 10_000_000_000L;

    private final BlobStoreContext context;
    private final String identity;
    private final String credential;
    private S3Proxy proxy;
    private int port;
    /** The address it binds: 127.0.0.1 unless a benchmark's transfer store must be reached through egress. */
    private String host = "127.0.0.1";

    private final boolean authenticated;

    private EmbeddedS3(Path dir, boolean authenticated) {
        this(dir, authenticated, randomHex(10), randomHex(20));
    }

    private EmbeddedS3(Path dir, boolean authenticated, String identity, String credential) {
        this.authenticated = authenticated;
        this.identity = identity;
        this.credential = credential;
        Properties props = new Properties();
        props.setProperty("jclouds.filesystem.basedir", dir.toAbsolutePath().toString());
        this.context = ContextBuilder.newBuilder("filesystem").credentials(identity, credential).overrides(props)
                .buildView(BlobStoreContext.class);
    }

    /**
     * Starts a server storing its buckets under {@code dir} (created if missing).
     *
     * @throws StoreException if it cannot start
     */
    public static EmbeddedS3 start(Path dir) {
        return start(dir, true);
    }

    /**
     * Starts a server that answers plain, unsigned HTTP requests ({@code PUT}/{@code GET}/{@code DELETE}
     * of {@code /bucket/key}): a scratch object store for function-to-function transfers in benchmarks,
     * on loopback only. Never use it for snapshots.
     */
    public static EmbeddedS3 startAnonymous(Path dir) {
        return start(dir, false);
    }

    /**
     * As {@link #startAnonymous(Path)}, on a given address and port: the transfer store of a
     * benchmark whose sandboxed functions reach it through their node's egress proxy, which never
     * connects to loopback unless told so ({@code thaw up --egress-allow HOST:PORT}).
     *
     * @param host the address to bind (an IP literal)
     * @param port the port (0: a free one)
     */
    public static EmbeddedS3 startAnonymous(Path dir, String host, int port) {
        try {
            Files.createDirectories(dir);
        } catch (java.io.IOException e) {
            throw StoreException.internal("cannot create the embedded S3 directory " + dir + ": " + e.getMessage(), e);
        }
        EmbeddedS3 s3 = new EmbeddedS3(dir, false);
        s3.host = host;
        s3.launch(port);
        return s3;
    }

    private static EmbeddedS3 start(Path dir, boolean authenticated) {
        try {
            Files.createDirectories(dir);
        } catch (java.io.IOException e) {
            throw StoreException.internal("cannot create the embedded S3 directory " + dir + ": " + e.getMessage(), e);
        }
        EmbeddedS3 s3 = new EmbeddedS3(dir, authenticated);
        s3.launch(0);
        return s3;
    }

    /**
     * Starts a server with given credentials on a given port: the S3 server a cluster's nodes share,
     * run as a process of its own that outlives any node.
     *
     * @param port the port on 127.0.0.1 (0: a free one)
     * @throws StoreException if it cannot start
     */
    public static EmbeddedS3 start(Path dir, int port, String accessKey, String secretKey) {
        try {
            Files.createDirectories(dir);
        } catch (java.io.IOException e) {
            throw StoreException.internal("cannot create the S3 server's directory " + dir + ": " + e.getMessage(), e);
        }
        EmbeddedS3 s3 = new EmbeddedS3(dir, true, accessKey, secretKey);
        s3.launch(port);
        return s3;
    }

    /** Creates {@code bucket} if it does not exist yet. */
    public void createBucket(String bucket) {
        context.getBlobStore().createContainerInLocation(null, bucket);
    }

    /** @return a client configuration for {@code bucket} on this server */
    public S3Config config(String bucket) {
        return new S3Config(endpoint(), REGION, bucket, "", identity, credential);
    }

    /** @return the server's endpoint, {@code http://127.0.0.1:<port>} (or the address it was started on) */
    public URI endpoint() {
        return uri(port);
    }

    /** @return whether the server is accepting requests */
    public synchronized boolean running() {
        return proxy != null;
    }

    /** Stops serving (the objects stay); {@link #restart()} serves them again on the same port. */
    public synchronized void stop() {
        if (proxy == null) {
            return;
        }
        try {
            proxy.stop();
        } catch (Exception e) {
            throw StoreException.internal("cannot stop the embedded S3 server on port " + port, e);
        } finally {
            proxy = null;
        }
    }

    /** Serves again on the port chosen at start. */
    public synchronized void restart() {
        if (proxy == null) {
            launch(port);
        }
    }

    /** Stops the server and releases its backend. */
    @Override
    public synchronized void close() {
        stop();
        context.close();
    }

    private synchronized void launch(int wantedPort) {
        S3Proxy p = S3Proxy.builder()
                .blobStore(new ChunkWritesIdle(context.getBlobStore()))
                .endpoint(uri(wantedPort))
                .awsAuthentication(authenticated ? AuthenticationType.AWS_V2_OR_V4 : AuthenticationType.NONE,
                        identity, credential)
                .build();
        try {
            p.start();
            long deadline = System.nanoTime() + START_TIMEOUT_NANOS;
            while (!"STARTED".equals(p.getState())) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("state " + p.getState() + " after 10 s");
                }
                Thread.sleep(5);
            }
        } catch (Exception e) {
            try {
                p.stop();
            } catch (Exception ignored) {
                // reported below
            }
            throw StoreException.internal("cannot start the embedded S3 server on " + host + ":" + wantedPort + ": "
                    + e.getMessage(), e);
        }
        this.proxy = p;
        this.port = p.getPort();
    }

    /** @return {@code http://host:port}, an IPv6 host in brackets */
    private URI uri(int port) {
        return URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port);
    }

    private static java.util.logging.Logger quietWhenTheClientWentAway(java.util.logging.Logger logger) {
        logger.setFilter(r -> {
            Throwable eof = r.getLevel().intValue() >= java.util.logging.Level.WARNING.intValue()
                    ? earlyEof(r.getThrown()) : null;
            if (eof != null) {
                r.setLevel(java.util.logging.Level.FINE);
                r.setMessage(r.getMessage() + ": its client went away before the body it announced had arrived ("
                        + eof.getMessage() + ")");
                r.setParameters(null);
                r.setThrown(null);
            }
            return true;
        });
        return logger;
    }

    /** @return the cause saying the request's body ended early (Jetty's EofException), or null */
    private static Throwable earlyEof(Throwable thrown) {
        for (Throwable t = thrown; t != null; t = t.getCause()) {
            if (t.getClass().getSimpleName().equals("EofException")) {
                return t;
            }
        }
        return null;
    }

    private static String randomHex(int bytes) {
        byte[] b = new byte[bytes];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /**
     * Writes the snapshot store's chunks at idle priority ({@link Background}): they come from its
     * uploads, background work, where the server's thread would otherwise take a core from the
     * node's invocations. Other objects (transfers a function waits for) are written as they come.
     */
    private static final class ChunkWritesIdle extends org.jclouds.blobstore.util.ForwardingBlobStore {
        private static final java.util.regex.Pattern CHUNK = java.util.regex.Pattern.compile("(^|/)c/[0-9a-f]{64}$");

        ChunkWritesIdle(org.jclouds.blobstore.BlobStore delegate) {
            super(delegate);
        }

        @Override
        public String putBlob(String container, org.jclouds.blobstore.domain.Blob blob) {
            return putBlob(container, blob, org.jclouds.blobstore.options.PutOptions.NONE);
        }

        @Override
        public String putBlob(String container, org.jclouds.blobstore.domain.Blob blob,
                              org.jclouds.blobstore.options.PutOptions options) {
            boolean chunk = CHUNK.matcher(blob.getMetadata().getName()).find();
            if (chunk) {
                Background.schedule(true);
            }
            try {
                return super.putBlob(container, blob, options);
            } finally {
                if (chunk) {
                    Background.schedule(false);
                }
            }
        }
    }
}
