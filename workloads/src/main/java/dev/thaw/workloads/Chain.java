package dev.thaw.workloads;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.thaw.api.Functions;
import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import dev.thaw.api.Xdt;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import java.util.zip.CRC32;

/**
 * A function that calls the next function through its node, {@code remaining} times deep: the
 * function-to-function case (fan-out and chains of cold starts, and the transfer of a payload from
 * one function to the next). Handler: {@code dev.thaw.workloads.Chain::handle}.
 *
 * <p>With {@code remaining > 0} it produces {@code payloadBytes} bytes ({@link #payload(int)}: the
 * same deterministic ASCII for the same size) and POSTs {@code {remaining: remaining-1,
 * payloadBytes, ...}} to {@code NODE/functions/NEXT_FUNCTION/invoke}, where {@code NODE} is the
 * environment's {@code NODE_URL}, else {@code THAW_NODE_URL} (which a thaw node sets: its invoke
 * API on the instance's own Runtime API listener, for the functions the deployment names with
 * {@code --may-invoke}), else {@code http://127.0.0.1:8080}, and
 * {@code NEXT_FUNCTION} defaults to this function's own name. In a thaw instance without a
 * {@code NODE_URL}, the call goes through {@link Functions} instead of an HTTP client of its own:
 * the same API, on the runtime's kept-alive connections. How the payload travels is
 * {@code TRANSFER}:
 * <ul>
 *   <li>{@code inline} (the default): inside the invocation, as the {@code payload} field (up to 4 MiB);</li>
 *   <li>{@code store}: streamed to an object store that takes unsigned PUT/GET/DELETE under
 *       {@code TRANSFER_URL} (the default when that is set); the next function gets its URL in
 *       {@code payloadRef}, streams it back and deletes it;</li>
 *   <li>{@code xdt}: streamed into the node's buffers with thaw's expedited data transfers
 *       ({@link Xdt}); the next function gets the reference in {@code payloadRef} and streams
 *       the data from the node that holds it.</li>
 * </ul>
 * By reference the payload may be up to 128 MiB, and it is never whole in either function's memory.
 * Each caller checks that the callee received exactly its payload (size and CRC32). The last
 * function ({@code remaining == 0}) calls no one. The result describes the whole chain below and
 * including this function: the number of hops, the payload the last function received (its size
 * and CRC32) and the names of the functions in call order.
 *
 * <p>A chain that calls its own function needs the node to run one instance per level at once.
 */
public class Chain implements Handler<Chain.Input, Chain.Output> {

    /**
     * @param remaining how many more calls to make down the chain (0 to 100)
     * @param payloadBytes the size of the payload to send to the next function (0 to 4 MiB)
     * @param payload what the caller sent inline (may be absent for the first function)
     * @param payloadRef where the caller put the payload instead, when it travels through an object
     *     store: a URL this function reads with a plain GET (and deletes once read)
     */
    public record Input(int remaining, int payloadBytes, String payload, String payloadRef) {

        /** An input whose payload travels inline. */
        public Input(int remaining, int payloadBytes, String payload) {
            this(remaining, payloadBytes, payload, null);
        }
    }

    /**
     * @param hops calls made from this function down to the end of the chain
     * @param payloadBytesReceived UTF-8 size of the payload the last function received
     * @param checksum CRC32 of that payload's UTF-8 bytes
     * @param path names of the functions in call order, this one first
     */
    public record Output(int hops, int payloadBytesReceived, long checksum, List<String> path) {
    }

    static final String DEFAULT_NODE_URL = "http://127.0.0.1:8080";
    static final String FALLBACK_NAME = "chain";
    static final int MAX_PAYLOAD = 4 << 20;
    /** By reference only a reference crosses the node, so payloads may exceed its 6 MB limit. */
    static final int MAX_STORED_PAYLOAD = 128 << 20;
    private static final String ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
    /** {@link #payload(int)} repeats every 36 x 36 characters: the stride 7 and the lap shift both vanish mod 36. */
    static final int PERIOD = ALPHABET.length() * ALPHABET.length();
    private static final byte[] PATTERN = payload(PERIOD * 64).getBytes(StandardCharsets.US_ASCII);
    private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    /** {@link #expectedChecksum(int)}'s results by payload size (a chain sweeps a handful of sizes). */
    private static final java.util.Map<Integer, Long> CHECKSUMS = new java.util.concurrent.ConcurrentHashMap<>();

    /** How a payload travels to the next function. */
    enum Transfer {
        INLINE, STORE, XDT;

        static Transfer parse(String value, String transferUrl) {
            if (value == null || value.isBlank()) {
                return transferUrl == null ? INLINE : STORE;
            }
            try {
                return valueOf(value.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("TRANSFER must be inline, store or xdt, not '" + value + "'");
            }
        }
    }

    private final String nodeUrl;
    private final String transferUrl;
    private final Transfer transfer;
    private final Supplier<Xdt> xdt;
    private final String nextFunction;
    private final HttpClient http;
    private final ObjectMapper json;
    private final Functions functions;

    /**
     * Creates the handler from the environment: the node's URL from {@code NODE_URL}, else
     * {@code THAW_NODE_URL}, the next function from {@code NEXT_FUNCTION}, how payloads travel
     * from {@code TRANSFER} and {@code TRANSFER_URL}.
     */
    public Chain() {
        this(nodeUrlFromEnvironment(System.getenv("NODE_URL"), System.getenv("THAW_NODE_URL")),
                System.getenv("NEXT_FUNCTION"), System.getenv("TRANSFER_URL"), System.getenv("TRANSFER"), Xdt::get,
                throughNode(System.getenv("NODE_URL"), System.getenv("THAW_NODE_URL")) ? Functions.get() : null);
    }

    /**
     * In a thaw instance with no {@code NODE_URL} of the user's, calls go through the runtime's
     * {@link Functions}, the same API as {@code THAW_NODE_URL} without a general HTTP client's
     * cost per call.
     */
    static boolean throughNode(String nodeUrl, String thawNodeUrl) {
        return (nodeUrl == null || nodeUrl.isBlank()) && thawNodeUrl != null && !thawNodeUrl.isBlank();
    }

    /**
     * The node sets {@code THAW_NODE_URL}, and a deployment cannot (the node reserves names starting
     * with {@code THAW_}); a user-set {@code NODE_URL} comes first, for calls to another address.
     */
    static String nodeUrlFromEnvironment(String nodeUrl, String thawNodeUrl) {
        if (nodeUrl != null && !nodeUrl.isBlank()) {
            return nodeUrl;
        }
        return thawNodeUrl;
    }

    /**
     * @param nodeUrl base URL of the node, or null/blank for {@value #DEFAULT_NODE_URL}
     * @param nextFunction the function to call, or null/blank for the invoked function itself
     */
    Chain(String nodeUrl, String nextFunction) {
        this(nodeUrl, nextFunction, null);
    }

    /**
     * @param transferUrl base URL of an object-store bucket that accepts unsigned PUT/GET/DELETE
     *     ({@code TRANSFER_URL}); when set, payloads go through it and only a reference is invoked with
     */
    Chain(String nodeUrl, String nextFunction, String transferUrl) {
        this(nodeUrl, nextFunction, transferUrl, null, Xdt::get);
    }

    /**
     * @param transfer {@code inline}, {@code store} or {@code xdt} ({@code TRANSFER}); null: store
     *     when there is a transfer URL, else inline
     * @param xdt the transfers to use when {@code transfer} is xdt (the instance's, in a thaw instance)
     */
    Chain(String nodeUrl, String nextFunction, String transferUrl, String transfer, Supplier<Xdt> xdt) {
        this(nodeUrl, nextFunction, transferUrl, transfer, xdt, null);
    }

    /**
     * @param functions the instance's calls of other functions, or null to POST to {@code nodeUrl}
     *     with the JDK's HTTP client
     */
    Chain(String nodeUrl, String nextFunction, String transferUrl, String transfer, Supplier<Xdt> xdt,
            Functions functions) {
        this.functions = functions;
        this.transferUrl = transferUrl == null || transferUrl.isBlank() ? null : transferUrl.strip().replaceAll("/+$", "");
        this.transfer = Transfer.parse(transfer, this.transferUrl);
        if (this.transfer == Transfer.STORE && this.transferUrl == null) {
            throw new IllegalArgumentException("TRANSFER=store needs TRANSFER_URL, the object store's bucket URL");
        }
        this.xdt = xdt;
        String url = nodeUrl == null || nodeUrl.isBlank() ? DEFAULT_NODE_URL : nodeUrl.strip();
        this.nodeUrl = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        URI.create(this.nodeUrl); // fail at init, not at the first call, on a malformed URL
        this.nextFunction = nextFunction == null || nextFunction.isBlank() ? null : nextFunction.strip();
        // HTTP/1.1: the node speaks it, and the default (HTTP/2) would try an h2c upgrade first
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
        this.json = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    }

    @Override
    public Output handle(Input input, InvocationContext context) throws IOException, InterruptedException {
        Inputs.required(input, "{\"remaining\":2,\"payloadBytes\":1024}");
        int remaining = Inputs.inRange("remaining", input.remaining(), 0, 100);
        int payloadBytes = Inputs.inRange("payloadBytes", input.payloadBytes(), 0,
                transfer == Transfer.INLINE ? MAX_PAYLOAD : MAX_STORED_PAYLOAD);
        String me = context == null || context.getFunctionName() == null ? FALLBACK_NAME : context.getFunctionName();

        if (remaining == 0) {
            if (input.payloadRef() != null) {
                long[] received = input.payloadRef().startsWith("http") ? fetch(input.payloadRef())
                        : measure(xdt.get().open(input.payloadRef()));
                return new Output(0, (int) received[0], received[1], List.of(me));
            }
            byte[] received = input.payload() == null ? new byte[0] : input.payload().getBytes(StandardCharsets.UTF_8);
            return new Output(0, received.length, crc32(received), List.of(me));
        }

        String next = nextFunction == null ? me : nextFunction;
        Input event = switch (transfer) {
            case INLINE -> new Input(remaining - 1, payloadBytes, payload(payloadBytes));
            case STORE -> new Input(remaining - 1, payloadBytes, null, put(payloadBytes));
            case XDT -> new Input(remaining - 1, payloadBytes, null, xdt.get().put(payloadStream(payloadBytes)));
        };
        Output downstream = call(next, event, timeout(context));
        long expected = expectedChecksum(payloadBytes);
        if (downstream.payloadBytesReceived() != payloadBytes || downstream.checksum() != expected) {
            throw new IllegalStateException("the chain below " + me + " received " + downstream.payloadBytesReceived()
                    + " bytes with CRC32 " + downstream.checksum() + ", but " + payloadBytes + " bytes with CRC32 "
                    + expected + " were sent");
        }
        List<String> path = new ArrayList<>(downstream.path() == null ? List.of() : downstream.path());
        path.addFirst(me);
        return new Output(downstream.hops() + 1, downstream.payloadBytesReceived(), downstream.checksum(), List.copyOf(path));
    }

    /** Invokes {@code function} with {@code event} (through the runtime, or POSTed to the node's URL) and reads its result. */
    Output call(String function, Input event, Duration timeout) throws IOException, InterruptedException {
        if (functions != null) {
            return json.readValue(functions.invoke(function, json.writeValueAsBytes(event)), Output.class);
        }
        URI uri = URI.create(nodeUrl + "/functions/"
                + URLEncoder.encode(function, StandardCharsets.UTF_8).replace("+", "%20") + "/invoke");
        HttpRequest request = HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(json.writeValueAsBytes(event)))
                .build();
        HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        if (response.statusCode() != 200) {
            throw new IOException("POST " + uri + " answered " + response.statusCode() + ": "
                    + new String(response.body(), StandardCharsets.UTF_8));
        }
        return json.readValue(response.body(), Output.class);
    }

    /**
     * Streams {@code bytes} bytes of the payload to a new object under the transfer URL, with a
     * Content-Length. @return the object's URL
     */
    String put(int bytes) throws IOException, InterruptedException {
        URI uri = URI.create(transferUrl + "/" + java.util.UUID.randomUUID());
        HttpRequest.BodyPublisher body = HttpRequest.BodyPublishers.fromPublisher(
                HttpRequest.BodyPublishers.ofInputStream(() -> payloadStream(bytes)), bytes);
        HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(uri).timeout(transferTimeout(bytes)).PUT(body).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() / 100 != 2) {
            throw new IOException("PUT " + uri + " answered " + r.statusCode() + ": " + new String(r.body(), StandardCharsets.UTF_8));
        }
        return uri.toString();
    }

    /** Streams the object a caller stored, then deletes it: a transfer is read once. @return {size, CRC32} */
    long[] fetch(String ref) throws IOException, InterruptedException {
        URI uri = URI.create(ref);
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(uri).timeout(DEFAULT_TIMEOUT).GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
        long[] received;
        try (InputStream in = r.body()) {
            if (r.statusCode() != 200) {
                throw new IOException("GET " + uri + " answered " + r.statusCode());
            }
            received = measure(in);
        }
        http.send(HttpRequest.newBuilder(uri).timeout(DEFAULT_TIMEOUT).DELETE().build(), HttpResponse.BodyHandlers.discarding());
        return received;
    }

    private static Duration transferTimeout(int bytes) {
        return DEFAULT_TIMEOUT.plusMillis(bytes / 10_000); // and 10 MB/s at the very least
    }

    /**
     * The CRC32 of {@link #payload(int)}'s bytes, computed once per size: the payload is the same
     * for the same size, so the check a caller makes of its callee costs no pass over 100 MiB on
     * every call (which would weigh on every transfer alike, and hide their differences).
     */
    static long expectedChecksum(int bytes) {
        return CHECKSUMS.computeIfAbsent(bytes, b -> {
            try {
                return measure(payloadStream(b))[1];
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e); // an in-memory stream does not fail
            }
        });
    }

    /** @return {bytes, CRC32} of a stream read to its end (and closed) */
    static long[] measure(InputStream in) throws IOException {
        CRC32 crc = new CRC32();
        long n = 0;
        try (in) {
            byte[] buf = new byte[256 * 1024];
            for (int r; (r = in.read(buf)) >= 0; ) {
                crc.update(buf, 0, r);
                n += r;
            }
        }
        return new long[] {n, crc.getValue()};
    }

    /** @return {@link #payload(int)}'s bytes as a stream, copied from one period: nothing whole in memory */
    static InputStream payloadStream(int bytes) {
        return new InputStream() {
            private long pos;

            @Override
            public int read() {
                return pos < bytes ? PATTERN[(int) (pos++ % PERIOD)] : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (pos >= bytes) {
                    return -1;
                }
                int n = (int) Math.min(len, bytes - pos);
                int done = 0;
                while (done < n) {
                    int from = (int) ((pos + done) % PERIOD);
                    int k = Math.min(n - done, PATTERN.length - from);
                    System.arraycopy(PATTERN, from, b, off + done, k);
                    done += k;
                }
                pos += n;
                return n;
            }
        };
    }

    private static Duration timeout(InvocationContext context) {
        if (context == null) {
            return DEFAULT_TIMEOUT;
        }
        int remainingMs = context.getRemainingTimeInMillis();
        return remainingMs > 0 ? Duration.ofMillis(remainingMs) : DEFAULT_TIMEOUT;
    }

    /** @return {@code bytes} ASCII characters, the same for the same length (so as many UTF-8 bytes) */
    static String payload(int bytes) {
        StringBuilder text = new StringBuilder(bytes);
        for (int i = 0; i < bytes; i++) {
            // a stride coprime with the alphabet's size, shifted every lap: no short period
            text.append(ALPHABET.charAt((i * 7 + i / ALPHABET.length()) % ALPHABET.length()));
        }
        return text.toString();
    }

    /** @return the CRC32 of {@code bytes} */
    static long crc32(byte[] bytes) {
        CRC32 crc = new CRC32();
        crc.update(bytes);
        return crc.getValue();
    }
}
