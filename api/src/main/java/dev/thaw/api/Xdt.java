package dev.thaw.api;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * Expedited data transfers (XDT): passes data from one function to another by reference, without
 * inlining it in the invocation payload and without a round trip through an object store.
 *
 * <p>A producer puts bytes and gets an opaque reference, a short string it passes to the consumer
 * like any other field of a JSON payload. The data stays on the node where the producer ran, in
 * buffers the node owns (memory, then local disk; never the producer's heap once {@code put}
 * returns). A consumer opens the reference and its node pulls the bytes directly from the
 * producer's node, streamed. The handler never learns where the data lives: a reference is signed
 * and encrypted by the node, and cannot be forged or changed by user code.
 *
 * <pre>{@code
 * // producer (any handler shape, an AWS Lambda RequestHandler included)
 * String ref = Xdt.get().put(bytes);                                   // read once, within 5 minutes
 * String shared = Xdt.get().put(stream, XdtOptions.defaults().reads(8).readers("resize", "index"));
 * // consumer
 * try (InputStream in = Xdt.get().open(ref)) { ... }
 * }</pre>
 *
 * <p>A reference is read at most {@link XdtOptions#reads()} times (once by default), only before
 * it expires ({@link XdtOptions#ttl()}, 5 minutes by default), only by the functions it names
 * ({@link XdtOptions#readers()}, any function of the cluster by default). Its buffer is freed as
 * soon as the last read is done or it expires. Unless the put was {@link XdtOptions#durable()
 * durable}, the data is lost with the node that holds it: the consumer gets an {@link XdtException}
 * of reason {@link XdtException.Reason#LOST} and should have the producer run again.
 *
 * <p>Every method may be called from several threads at once; each call uses a connection of its
 * own to the node. Failures are {@link XdtException}s naming their {@link XdtException.Reason};
 * the stream {@link #open} returns throws an {@link IOException} whose cause is one.
 */
public interface Xdt {

    /**
     * @return the transfers of the instance this code runs in
     * @throws IllegalStateException outside a thaw instance (use {@link #inMemory()} in unit tests)
     */
    static Xdt get() {
        return InstanceServices.get(Xdt.class, "no XDT here: Xdt.get() works inside a thaw instance only;"
                + " unit tests can use Xdt.inMemory()");
    }

    /**
     * @return transfers that stay in this JVM's memory: a stand-in for {@link #get()} in a handler's
     *     unit tests, with the same read limits and expiry (readers are not checked: it has no
     *     notion of functions)
     */
    static Xdt inMemory() {
        return new InMemoryXdt();
    }

    /**
     * Puts {@code data} with the default options: one read, within 5 minutes, by any function.
     *
     * @return the reference
     */
    default String put(byte[] data) {
        return put(data, XdtOptions.defaults());
    }

    /**
     * Puts {@code data}; the array may be reused as soon as this returns.
     *
     * @return the reference, a string of letters, digits, {@code -}, {@code _} and {@code .}
     * @throws XdtException {@link XdtException.Reason#FULL} when the node's buffers are full,
     *     {@link XdtException.Reason#INVALID} for options the node does not allow
     */
    default String put(byte[] data, XdtOptions options) {
        return put(new ByteArrayInputStream(data), options);
    }

    /** Puts everything {@code data} yields until its end, with the default options. @return the reference */
    default String put(InputStream data) {
        return put(data, XdtOptions.defaults());
    }

    /**
     * Puts everything {@code data} yields until its end, streamed to the node (never buffered whole
     * in this JVM). The stream is not closed.
     *
     * @return the reference
     * @throws XdtException as {@link #put(byte[], XdtOptions)}; {@link XdtException.Reason#UNAVAILABLE}
     *     when reading {@code data} failed (the cause says why)
     */
    String put(InputStream data, XdtOptions options);

    /**
     * Opens a reference for reading. Refusals (a forged, altered, expired, used-up or foreign
     * reference, lost data) are thrown here, before any byte is read. The stream holds a
     * connection until it is closed or read to its end; data pulled from another node is checked
     * against the reference's SHA-256 as it arrives, and a mismatch makes the stream's last read
     * throw instead of ending. Each successful open counts as one read of the reference.
     *
     * @return the data, streamed
     * @throws XdtException naming why the reference is refused
     */
    InputStream open(String reference);

    /**
     * Reads a reference's data whole into memory ({@link #open} then {@code readAllBytes}).
     *
     * @throws XdtException naming why the reference is refused, or why the transfer failed
     */
    default byte[] read(String reference) {
        try (InputStream in = open(reference)) {
            return in.readAllBytes();
        } catch (IOException e) {
            if (e.getCause() instanceof XdtException x) {
                throw x;
            }
            throw new XdtException(XdtException.Reason.UNAVAILABLE, "the transfer broke off: " + e.getMessage(),
                    new UncheckedIOException(e));
        }
    }
}
