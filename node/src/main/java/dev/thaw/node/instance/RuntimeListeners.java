package dev.thaw.node.instance;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;

/**
 * Where an instance's Runtime API listens. Without a sandbox, a loopback port of the node's own;
 * a sandbox gives each instance a listener inside its own network namespace instead.
 */
public interface RuntimeListeners {

    /** A listening channel and the {@code host:port} the instance reaches it at. */
    record Listener(ServerSocketChannel channel, String address) {
    }

    /**
     * @param instanceId the instance the listener is for
     * @return a bound, listening channel for that instance alone
     */
    Listener open(String instanceId) throws IOException;

    /** @return listeners on ephemeral ports of the node's 127.0.0.1 */
    static RuntimeListeners loopback() {
        return id -> {
            ServerSocketChannel ch = ServerSocketChannel.open();
            ch.bind(new InetSocketAddress("127.0.0.1", 0), 16);
            return new Listener(ch, "127.0.0.1:" + ((InetSocketAddress) ch.getLocalAddress()).getPort());
        };
    }
}
