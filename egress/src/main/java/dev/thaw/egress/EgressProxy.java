package dev.thaw.egress;

import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadFactory;

/**
 * An HTTP proxy for one function instance, on a listener the node opened inside the instance's
 * network namespace: {@code CONNECT host:port} (TLS, or any TCP) and absolute-URI requests
 * ({@code GET http://host:port/path}, one request per connection). Each target is decided by an
 * {@link EgressPolicy}; an allowed one is connected to from the node's own namespace, at the
 * address the policy resolved. A refusal is answered {@code 403} with a body naming the target,
 * the function and the setting; a connection beyond {@link Settings#maxConnections()} open ones
 * is answered {@code 503}.
 *
 * <pre>{@code
 * EgressProxy proxy = EgressProxy.serve(box.openListener(9002), policy, EgressProxy.Settings.of("fn"), observer);
 * ...
 * proxy.close();                   // with the instance: the listener and every relay
 * }</pre>
 */
public interface EgressProxy extends AutoCloseable {

    /**
     * Serves the proxy on {@code listener} (bound and listening, in blocking mode) until
     * {@link #close()}; the proxy owns the listener from now on.
     */
    static EgressProxy serve(ServerSocketChannel listener, EgressPolicy policy, Settings settings, Observer observer) {
        return ProxyServer.start(listener, policy, settings, observer);
    }

    /** @return the proxied connections open now (being read, connected or relaying) */
    int openConnections();

    /**
     * Closes the listener and every connection (both sides of each relay), and waits up to two
     * seconds for the proxy's threads to end. Idempotent; never throws.
     */
    @Override
    void close();

    /**
     * @param function the function served: named in refusals
     * @param maxConnections proxied connections one instance may hold open at once
     * @param connectTimeout how long a connection to a target may take
     * @param requestTimeout how long a client may take to send its request head
     * @param threads where the accept loop and each relay run (the default: virtual threads, which a
     *     blocking socket read unmounts)
     */
    record Settings(String function, int maxConnections, Duration connectTimeout, Duration requestTimeout,
                    ThreadFactory threads) {
        /** Connections one instance may hold open at once by default. */
        public static final int MAX_CONNECTIONS = 64;

        public Settings {
            Objects.requireNonNull(function, "function");
            Objects.requireNonNull(connectTimeout, "connectTimeout");
            Objects.requireNonNull(requestTimeout, "requestTimeout");
            Objects.requireNonNull(threads, "threads");
            if (maxConnections < 1) {
                throw new IllegalArgumentException("maxConnections must be >= 1, got " + maxConnections);
            }
            if (connectTimeout.isNegative() || connectTimeout.isZero() || requestTimeout.isNegative()
                    || requestTimeout.isZero()) {
                throw new IllegalArgumentException("timeouts must be positive, got " + connectTimeout + " and " + requestTimeout);
            }
        }

        /** @return 64 connections, 10 s to connect, 30 s for a request head, virtual threads */
        public static Settings of(String function) {
            return new Settings(function, MAX_CONNECTIONS, Duration.ofSeconds(10), Duration.ofSeconds(30),
                    Thread.ofVirtual().name("thaw-egress-" + function + "-", 0).factory());
        }

        public Settings withMaxConnections(int max) {
            return new Settings(function, max, connectTimeout, requestTimeout, threads);
        }

        public Settings withThreads(ThreadFactory factory) {
            return new Settings(function, maxConnections, connectTimeout, requestTimeout, factory);
        }

        public Settings withTimeouts(Duration connect, Duration request) {
            return new Settings(function, maxConnections, connect, request, threads);
        }
    }

    /** What the proxy reports: one call per proxied connection, never a payload. */
    interface Observer {
        /** The policy allowed {@code target} ({@code host:port}); the proxy connects next. */
        void allowed(String target);

        /**
         * The policy refused {@code target}.
         *
         * @param message the refusal as the client got it: {@code egress to HOST:PORT is not allowed for
         *     function F (thaw up --egress-allow): why}
         */
        void denied(String target, String message);

        /** A connection beyond the limit was refused before its request was read. */
        void overLimit(String message);

        /** @return an observer that ignores everything */
        static Observer none() {
            return new Observer() {
                @Override
                public void allowed(String target) {
                }

                @Override
                public void denied(String target, String message) {
                }

                @Override
                public void overLimit(String message) {
                }
            };
        }
    }
}
