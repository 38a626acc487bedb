package dev.thaw.node.xdt;

import dev.thaw.node.pool.Scheduler;
import dev.thaw.node.pool.Ticker;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** Clocks, schedulers and exchanges the transfers' tests drive by hand. */
final class Fakes {
    private Fakes() {
    }

    /** A clock that moves only when told. */
    static final class Clock implements Ticker {
        long nanos;
        long epochMs = 1_800_000_000_000L;

        void advance(Duration d) {
            nanos += d.toNanos();
            epochMs += d.toMillis();
        }

        @Override
        public long nanos() {
            return nanos;
        }

        @Override
        public long epochMillis() {
            return epochMs;
        }
    }

    /** A scheduler whose tasks run when the test says so, in order of their due time. */
    static final class Timers implements Scheduler {
        private final Clock clock;
        private final List<Object[]> tasks = new ArrayList<>();

        Timers(Clock clock) {
            this.clock = clock;
        }

        @Override
        public synchronized Cancellable schedule(Runnable task, Duration delay) {
            Object[] t = {clock.nanos + delay.toNanos(), task};
            tasks.add(t);
            return () -> {
                synchronized (this) {
                    tasks.remove(t);
                }
            };
        }

        /** Moves the clock and runs every task that came due. */
        void advance(Duration d) {
            clock.advance(d);
            while (true) {
                Object[] due = null;
                synchronized (this) {
                    for (Object[] t : tasks) {
                        if ((long) t[0] <= clock.nanos && (due == null || (long) t[0] < (long) due[0])) {
                            due = t;
                        }
                    }
                    if (due == null) {
                        return;
                    }
                    tasks.remove(due);
                }
                ((Runnable) due[1]).run();
            }
        }

        synchronized int pending() {
            return tasks.size();
        }
    }

    /** An exchange in memory: a request body, and what the handler answered. */
    static final class Exchange implements HttpExchange {
        final Map<String, String> requestHeaders = new LinkedHashMap<>();
        final InputStream body;
        final long contentLength;
        int status;
        final Map<String, String> headers = new LinkedHashMap<>();
        long responseLength = -2;
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean abandoned;

        Exchange(byte[] body, boolean chunked) {
            this.body = new ByteArrayInputStream(body);
            this.contentLength = chunked ? -1 : body.length;
        }

        Exchange(InputStream body) {
            this.body = body;
            this.contentLength = -1;
        }

        Exchange header(String name, String value) {
            requestHeaders.put(name.toLowerCase(Locale.ROOT), value);
            return this;
        }

        @Override
        public String method() {
            return "GET";
        }

        @Override
        public Optional<String> header(String name) {
            return Optional.ofNullable(requestHeaders.get(name.toLowerCase(Locale.ROOT)));
        }

        @Override
        public long contentLength() {
            return contentLength;
        }

        @Override
        public InputStream body() {
            return body;
        }

        @Override
        public WritableByteChannel channel() {
            return new WritableByteChannel() {
                @Override
                public int write(ByteBuffer src) {
                    int n = src.remaining();
                    byte[] b = new byte[n];
                    src.get(b);
                    out.writeBytes(b);
                    return n;
                }

                @Override
                public boolean isOpen() {
                    return true;
                }

                @Override
                public void close() {
                }
            };
        }

        @Override
        public void respond(int s, Map<String, String> h, byte[] b) {
            status = s;
            headers.putAll(h);
            responseLength = b.length;
            out.writeBytes(b);
        }

        @Override
        public void sendHead(int s, Map<String, String> h, long length) {
            status = s;
            headers.putAll(h);
            responseLength = length;
        }

        @Override
        public void abandon() {
            abandoned = true;
        }

        String text() {
            return out.toString(java.nio.charset.StandardCharsets.UTF_8);
        }

        /** @return the answer's body, decoded when chunked */
        byte[] data() {
            if (responseLength >= 0) {
                return out.toByteArray();
            }
            try {
                Http1.ChunkedInputStream in = new Http1.ChunkedInputStream(new ByteArrayInputStream(out.toByteArray()));
                byte[] b = in.readAllBytes();
                trailers = in.trailers();
                return b;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        Map<String, String> trailers = Map.of();
    }
}
