package dev.thaw.testfunctions;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.io.IOException;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The second step of a chain, as the freshen seed describes it: its handler needs an object from an
 * object store (the URL in {@code OBJECT_URL}) and keeps it in a cache for {@code CACHE_TTL_MS}
 * (default 60 s); its freshen method, {@code prefetch}, fills that cache when it is empty or stale
 * and so opens the connection the handler's later requests reuse. The class does not implement {@code dev.thaw.api.Freshen}: the
 * hook is named at deploy ({@code --freshen prefetch}), as a Lambda handler's would be, so a deploy
 * without it has no hook at all. The handler answers {@code {"bytes", "cached", "fetchMs"}}. Its
 * priming event, {@code {"priming": true}}, runs the same path without fetching (nothing outside is
 * touched before the snapshot, and no object is cached in it).
 * Handler {@code Prefetcher::handle}.
 */
public class Prefetcher implements Handler<Map<String, Object>, Map<String, Object>> {
    /** Follows the environment's proxy settings (the node's egress proxy in a sandbox). */
    private static final HttpClient CLIENT = HttpClient.newBuilder().proxy(ProxySelector.getDefault())
            .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    private static volatile byte[] cached;
    private static volatile long cachedAtNanos;

    /** Creates the handler. */
    public Prefetcher() {
    }

    /**
     * The freshen hook: fetches the object into the cache unless the cache still holds it (the
     * seed's FrFetch: a prefetch into a cache with a time to live). A warm instance freshened
     * before each predicted call must not fetch again what it holds, and make the call wait for it.
     */
    public void prefetch() throws IOException, InterruptedException {
        if (!fresh()) {
            fetch();
        }
    }

    @Override
    public Map<String, Object> handle(Map<String, Object> input, InvocationContext context)
            throws IOException, InterruptedException {
        long start = System.nanoTime();
        boolean priming = Boolean.TRUE.equals(input.get("priming"));
        boolean hit = !priming && fresh();
        byte[] object = priming ? new byte[0] : hit ? cached : fetch();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("bytes", object.length);
        out.put("cached", hit);
        out.put("fetchMs", (System.nanoTime() - start) / 1e6);
        return out;
    }

    private static boolean fresh() {
        long ttlNanos = Duration.ofMillis(Long.parseLong(System.getenv().getOrDefault("CACHE_TTL_MS", "60000"))).toNanos();
        return cached != null && System.nanoTime() - cachedAtNanos < ttlNanos;
    }

    private static byte[] fetch() throws IOException, InterruptedException {
        String url = System.getenv("OBJECT_URL");
        if (url == null) {
            throw new IllegalStateException("OBJECT_URL is not set");
        }
        HttpResponse<byte[]> r = CLIENT.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() != 200) {
            throw new IOException("GET " + url + " answered " + r.statusCode());
        }
        cached = r.body();
        cachedAtNanos = System.nanoTime();
        return cached;
    }
}
