package dev.thaw.node.xdt;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The node's transfer listener: where other nodes pull the data this node holds. A small HTTP/1.1
 * server of its own (keep-alive, one virtual thread per connection) rather than the public API's
 * Helidon listener, for three reasons: it listens where other nodes reach it (the public API stays
 * on 127.0.0.1), it authenticates with the cluster's key instead of the API token, and it writes
 * buffers and files to the socket without a copy in between.
 */
final class PeerServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("thaw.xdt");

    /** Answers one request. */
    interface Handler {
        void handle(String path, SocketExchange exchange) throws IOException;
    }

    private final ServerSocketChannel listener;
    private final Handler handler;
    private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    PeerServer(InetSocketAddress bind, Handler handler) throws IOException {
        this.handler = handler;
        this.listener = ServerSocketChannel.open();
        listener.bind(bind, 64);
        Thread.ofVirtual().name("thaw-xdt-listener").start(this::acceptLoop);
    }

    /** @return the port it listens on */
    int port() {
        try {
            return ((InetSocketAddress) listener.getLocalAddress()).getPort();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel c;
            try {
                c = listener.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closed) {
                    LOG.log(System.Logger.Level.WARNING, "XDT listener: accept failed: " + e.getMessage());
                }
                return;
            }
            connections.add(c);
            Thread.ofVirtual().name("thaw-xdt-peer").start(() -> serve(c));
        }
    }

    private void serve(SocketChannel c) {
        try (c; InputStream in = new ChannelInput(c, 16 * 1024)) {
            c.socket().setTcpNoDelay(true);
            while (!closed) {
                Http1.Head head = Http1.readHead(in);
                if (head == null) {
                    return;
                }
                SocketExchange ex = new SocketExchange(c, in, head);
                String path = head.second();
                int q = path.indexOf('?');
                handler.handle(q < 0 ? path : path.substring(0, q), ex);
                if (!ex.finish()) {
                    return;
                }
            }
        } catch (SocketException | ClosedChannelException e) {
            // the peer went away
        } catch (IOException | RuntimeException e) {
            if (!closed) {
                LOG.log(System.Logger.Level.DEBUG, "XDT listener: " + e);
            }
        } finally {
            connections.remove(c);
        }
    }

    /** Answers a refusal: its status, its reason in a header, its message as the body. */
    static void refuse(HttpExchange ex, Refusal r) throws IOException {
        ex.respond(r.reason().status(), Map.of("Content-Type", "text/plain; charset=utf-8",
                dev.thaw.protocol.RuntimeProtocol.Headers.XDT_REASON, r.reason().name()),
                String.valueOf(r.getMessage()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Override
    public void close() {
        closed = true;
        try {
            listener.close();
        } catch (IOException e) {
            // closing
        }
        for (SocketChannel c : connections) {
            try {
                c.close();
            } catch (IOException e) {
                // closing
            }
        }
    }
}
