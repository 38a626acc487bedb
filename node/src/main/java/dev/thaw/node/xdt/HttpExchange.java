package dev.thaw.node.xdt;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.WritableByteChannel;
import java.util.Map;
import java.util.Optional;

/**
 * One streamed request on a raw HTTP/1.1 connection: its head, its body as a stream, and the
 * connection to answer on. The handler reads the body (the connection drains what it leaves) and
 * writes exactly one answer: {@link #respond} whole, or {@link #sendHead} followed by the body
 * written to {@link #channel()} (plain, or with {@link Http1.ChunkedOutput} when chunked).
 */
public interface HttpExchange {
    /** @return the request method */
    String method();

    /** @return a request header by its case-insensitive name */
    Optional<String> header(String name);

    /** @return the body's Content-Length, or -1 when chunked or absent */
    long contentLength();

    /** @return the request body, ending where it ends */
    InputStream body();

    /** @return the connection, to write an answer's body after {@link #sendHead} */
    WritableByteChannel channel();

    /** Writes a whole answer. */
    void respond(int status, Map<String, String> headers, byte[] body) throws IOException;

    /**
     * Writes an answer's head.
     *
     * @param contentLength the body's length, or -1 for a chunked body
     */
    void sendHead(int status, Map<String, String> headers, long contentLength) throws IOException;

    /** The answer could not be completed: the connection is closed after this exchange. */
    void abandon();
}
