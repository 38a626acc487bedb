package dev.thaw.testfunctions;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts its invocations, as {@link Counter} does, and opens a TCP connection on its first one that it
 * keeps for good (to its own Runtime API, the one address every instance reaches), as a handler
 * that opens a database connection lazily would. Handler {@code HeldConnection::handle}.
 */
public class HeldConnection implements Handler<Object, Map<String, Integer>> {
    private static final AtomicInteger INVOCATIONS = new AtomicInteger();
    private static volatile Socket held;

    /** Creates the handler. */
    public HeldConnection() {
    }

    @Override
    public Map<String, Integer> handle(Object input, InvocationContext context) {
        if (held == null) {
            String api = System.getenv("AWS_LAMBDA_RUNTIME_API"); // host:port, then the node's path
            int colon = api.indexOf(':');
            int slash = api.indexOf('/', colon);
            try {
                held = new Socket(api.substring(0, colon), Integer.parseInt(api.substring(colon + 1,
                        slash < 0 ? api.length() : slash)));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return Map.of("invocations", INVOCATIONS.incrementAndGet());
    }
}
