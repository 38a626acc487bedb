package dev.thaw.node.xdt;

import dev.thaw.protocol.RuntimeProtocol.Headers;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Pulls data from another node's transfer listener: one signed GET on a connection of its own,
 * the body streamed back as it arrives. A node that cannot be reached (refused, timed out, gone
 * before it answered) is {@link Unreachable}; one that answers with a refusal has it rethrown as
 * a {@link Refusal} of the same reason.
 */
final class PeerClient {
    static final String PATH = "/xdt/v1/objects/";
    private final PeerAuth auth;
    private final String nodeId;
    private final int connectTimeoutMs;
    private final int readTimeoutMs;

    PeerClient(PeerAuth auth, String nodeId, int connectTimeoutMs, int readTimeoutMs) {
        this.auth = auth;
        this.nodeId = nodeId;
        this.connectTimeoutMs = connectTimeoutMs;
        this.readTimeoutMs = readTimeoutMs;
    }

    /** The node could not be reached, or went away before it answered. */
    static final class Unreachable extends Exception {
        private static final long serialVersionUID = 1L;

        Unreachable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * A pull under way: the body, its announced length, the connection to close, and the
     * request's signature (which the answer's signed digest names).
     */
    record Pull(InputStream body, long length, Socket socket, String signature) implements AutoCloseable {
        @Override
        public void close() {
            try {
                socket.close();
            } catch (IOException e) {
                // closing
            }
        }
    }

    /**
     * @param hostPort the producer node's transfer listener
     * @param ref the verified reference
     * @param token the reference as the function gave it
     * @param reader the function that reads it
     * @param nowMs the time the request is signed with
     */
    Pull pull(String hostPort, Reference ref, String token, String reader, long nowMs) throws Unreachable {
        int colon = hostPort.lastIndexOf(':');
        if (colon <= 0) {
            throw new Unreachable("'" + hostPort + "' is not a host:port", null);
        }
        Socket s = new Socket();
        try {
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1))),
                    connectTimeoutMs);
            s.setSoTimeout(readTimeoutMs);
        } catch (IOException | RuntimeException e) {
            close(s);
            throw new Unreachable(describe(e), e);
        }
        try {
            String path = PATH + ref.objectId();
            Map<String, String> headers = new LinkedHashMap<>();
            headers.put("Host", hostPort);
            Map<String, String> signed = auth.sign(path, token, reader, nodeId, nowMs);
            headers.putAll(signed);
            headers.put("Connection", "close");
            s.getOutputStream().write(Http1.requestHead("GET", path, headers));
            s.getOutputStream().flush();
            InputStream in = new BufferedInputStream(s.getInputStream(), 256 * 1024);
            Http1.Head head = Http1.readHead(in);
            if (head == null) {
                throw new java.io.EOFException("the node closed the connection without an answer");
            }
            int status = Integer.parseInt(head.second());
            InputStream body = Http1.body(in, head);
            if (status != 200) {
                String message = new String(body.readNBytes(16 * 1024), StandardCharsets.UTF_8);
                close(s);
                throw new Refusal(Refusal.Reason.parse(head.header(Headers.XDT_REASON)), message);
            }
            return new Pull(body, head.contentLength(), s, signed.get(PeerAuth.SIGNATURE));
        } catch (IOException | NumberFormatException e) {
            close(s);
            throw new Unreachable("it went away before answering (" + describe(e) + ")", e);
        }
    }

    /** @return what went wrong, without the exception's message (which may name the host: functions read this) */
    private static String describe(Throwable e) {
        return e instanceof java.net.ConnectException ? "connection refused"
                : e instanceof java.net.SocketTimeoutException ? "no answer in time"
                : e instanceof java.net.NoRouteToHostException ? "no route to it"
                : e instanceof java.net.UnknownHostException ? "its host name does not resolve"
                : e instanceof java.io.EOFException ? "the connection closed"
                : e.getClass().getSimpleName();
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing
        }
    }
}
