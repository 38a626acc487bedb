package dev.thaw.client;

import dev.thaw.core.StartKind;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.core.DeployRequest;
import dev.thaw.core.ErrorType;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.Json;
import dev.thaw.core.ThawException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/** {@link ThawClient} over the JDK's {@link HttpClient}. */
final class HttpThawClient implements ThawClient {
    private static final String JSON = "application/json";

    private final URI base;
    private final HttpClient http;
    private final Duration requestTimeout;
    private final String token;

    /**
     * @param requestTimeout per-request limit, or {@code null} for none
     * @param token the node's API token, or {@code null} to send none
     */
    HttpThawClient(URI base, Duration requestTimeout, String token) {
        this.base = withoutTrailingSlash(Objects.requireNonNull(base, "base"));
        this.requestTimeout = requestTimeout;
        this.token = token == null || token.isBlank() ? null : token.strip();
        // HTTP/1.1 because the node speaks it and pooled keep-alive connections keep warm-invocation
        // latency free of connection setup; no default request timeout because function timeouts go up to 15 min.
        HttpClient.Builder http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5));
        if ("http".equalsIgnoreCase(this.base.getScheme())) {
            http.sslContext(PlainHttp.TLS);
        }
        this.http = http.build();
    }

    /**
     * A TLS context that trusts nothing, made once, for the clients of nodes over plain HTTP: the
     * JDK's client otherwise loads the default context, every CA certificate the JDK trusts parsed,
     * a tenth of a second of each CLI command's start, for connections that never use TLS.
     */
    private static final class PlainHttp {
        static final javax.net.ssl.SSLContext TLS = withoutTls();

        private static javax.net.ssl.SSLContext withoutTls() {
            try {
                javax.net.ssl.SSLContext tls = javax.net.ssl.SSLContext.getInstance("TLS");
                tls.init(new javax.net.ssl.KeyManager[0], new javax.net.ssl.TrustManager[0], null);
                return tls;
            } catch (java.security.GeneralSecurityException e) {
                throw new IllegalStateException("the JDK has no TLS context: " + e.getMessage(), e);
            }
        }
    }

    @Override
    public URI base() {
        return base;
    }

    @Override
    public java.util.Optional<String> token() {
        return java.util.Optional.ofNullable(token);
    }

    @Override
    public FunctionInfo deploy(FunctionManifest manifest, Path jar) {
        return deploy(manifest, jar, UploadProgress.NONE);
    }

    @Override
    public FunctionInfo deploy(FunctionManifest manifest, Path jar, UploadProgress progress) {
        Objects.requireNonNull(progress, "progress");
        byte[] body = Json.write(new DeployRequest(manifest, readCode(jar)));
        var request = request("/functions/" + segment(manifest.name()))
                .header("Content-Type", JSON)
                .PUT(progress == UploadProgress.NONE ? BodyPublishers.ofByteArray(body) : new CountingPublisher(body, progress));
        return parse(send(request).body(), FunctionInfo.class);
    }

    @Override
    public List<FunctionInfo> list() {
        return parse(send(request("/functions").GET()).body(), FunctionList.class).functions();
    }

    @Override
    public FunctionInfo describe(String name) {
        return parse(send(request(functionPath(name)).GET()).body(), FunctionInfo.class);
    }

    @Override
    public long delete(String name) {
        return tree(send(request(functionPath(name)).DELETE()).body()).path("version").asLong();
    }

    @Override
    public String logs(String name, int tail) {
        return text(send(request(functionPath(name) + "/logs?tail=" + tail).GET()).body());
    }

    @Override
    public int evict(String name) {
        return tree(send(request(functionPath(name) + "/instances").DELETE()).body()).path("evicted").asInt();
    }

    @Override
    public JsonNode health() {
        return tree(send(request("/healthz").GET()).body());
    }

    @Override
    public JsonNode snapshots() {
        return tree(send(request("/snapshots").GET()).body());
    }

    @Override
    public JsonNode snapshot(String name) {
        return tree(send(request("/snapshots/" + segment(name)).GET()).body());
    }

    @Override
    public JsonNode evictSnapshot(String name, java.util.Set<String> places) {
        String tiers = String.join(",", new java.util.TreeSet<>(places));
        return tree(send(request("/snapshots/" + segment(name) + "/evict?tiers=" + segment(tiers))
                .POST(HttpRequest.BodyPublishers.noBody())).body());
    }

    @Override
    public JsonNode loadSnapshot(String name) {
        return tree(send(request("/snapshots/" + segment(name) + "/load").POST(HttpRequest.BodyPublishers.noBody())).body());
    }

    @Override
    public JsonNode compareSnapshots(String name, String other) {
        return tree(send(request("/snapshots/" + segment(name) + "/compare/" + segment(other)).GET()).body());
    }

    @Override
    public JsonNode storeGc() {
        return tree(send(request("/store/gc").POST(HttpRequest.BodyPublishers.noBody())).body());
    }

    @Override
    public String metrics() {
        return text(send(request("/metrics").GET()).body());
    }

    @Override
    public InvocationResult invoke(String name, byte[] payload) {
        var request = request(functionPath(name) + "/invoke")
                .header("Content-Type", JSON)
                .POST(BodyPublishers.ofByteArray(payload == null ? new byte[0] : payload));
        long start = System.nanoTime();
        HttpResponse<byte[]> response = send(request);
        long latency = System.nanoTime() - start;
        return toResult(response, latency);
    }

    /**
     * Lambda's path, so that a function's failure is an answer ({@code X-Amz-Function-Error}) that carries
     * its log tail, not an exception; the node's errors carry {@code X-Thaw-Error-Type}, which names the
     * exception's type.
     */
    @Override
    public InvocationResult invoke(String name, byte[] payload, InvokeOptions options) {
        String query = options.qualifier().map(q -> "?Qualifier=" + segment(q)).orElse("");
        var request = request("/2015-03-31/functions/" + segment(name) + "/invocations" + query)
                .header("Content-Type", JSON)
                .header("X-Amz-Invocation-Type", options.type().wireName())
                .POST(BodyPublishers.ofByteArray(payload == null ? new byte[0] : payload));
        if (options.tailLog()) {
            request.header("X-Amz-Log-Type", "Tail");
        }
        long start = System.nanoTime();
        HttpResponse<byte[]> response = send(request);
        return toResult(response, System.nanoTime() - start);
    }

    @Override
    public java.util.SortedMap<String, Long> aliases(String name) {
        java.util.SortedMap<String, Long> out = new java.util.TreeMap<>();
        tree(send(request(functionPath(name) + "/aliases").GET()).body()).path("aliases")
                .forEach(a -> out.put(a.path("alias").asText(), a.path("version").asLong()));
        return out;
    }

    @Override
    public OptionalLong setAlias(String name, String alias, long version) {
        var request = request(functionPath(name) + "/aliases/" + segment(alias))
                .header("Content-Type", JSON)
                .PUT(BodyPublishers.ofByteArray(Json.write(java.util.Map.of("version", version))));
        JsonNode answer = tree(send(request).body());
        return answer.has("previousVersion") ? OptionalLong.of(answer.get("previousVersion").asLong()) : OptionalLong.empty();
    }

    @Override
    public long deleteAlias(String name, String alias) {
        return tree(send(request(functionPath(name) + "/aliases/" + segment(alias)).DELETE()).body())
                .path("version").asLong();
    }

    @Override
    public JsonNode versions(String name) {
        return tree(send(request(functionPath(name) + "/versions").GET()).body());
    }

    @Override
    public JsonNode clusterNodes() {
        return tree(send(request("/cluster/nodes").GET()).body());
    }

    @Override
    public JsonNode deadLetters(String name) {
        return tree(send(request(functionPath(name) + "/events/dead").GET()).body());
    }

    @Override
    public int clearDeadLetters(String name) {
        return tree(send(request(functionPath(name) + "/events/dead").DELETE()).body()).path("cleared").asInt();
    }

    @Override
    public void close() {
        http.close();
    }

    static InvocationResult toResult(HttpResponse<byte[]> response, long latencyNanos) {
        var headers = response.headers();
        OptionalLong version = integer(headers.firstValue("X-Thaw-Function-Version").orElse(null));
        return new InvocationResult(response.statusCode(), response.body(),
                headers.firstValue("X-Thaw-Request-Id").or(() -> headers.firstValue("X-Amz-Request-Id")).orElse(null),
                StartKind.fromHeader(headers.firstValue("X-Thaw-Start").orElse(null)),
                decimal(headers.firstValue("X-Thaw-Init-Ms").orElse(null)),
                decimal(headers.firstValue("X-Thaw-Restore-Ms").orElse(null)),
                decimal(headers.firstValue("X-Thaw-Duration-Ms").orElse(null)),
                latencyNanos,
                version.isPresent() ? version : integer(headers.firstValue("X-Amz-Executed-Version").orElse(null)),
                thawHeaders(headers),
                headers.firstValue("X-Amz-Function-Error"),
                headers.firstValue("X-Amz-Log-Result").map(HttpThawClient::base64Text));
    }

    /** A log tail is informative: one that does not decode is shown as it came. */
    private static String base64Text(String value) {
        try {
            return new String(java.util.Base64.getDecoder().decode(value.trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return value;
        }
    }

    private static java.util.Map<String, String> thawHeaders(java.net.http.HttpHeaders headers) {
        java.util.Map<String, String> out = new java.util.HashMap<>();
        headers.map().forEach((name, values) -> {
            if (name.regionMatches(true, 0, "X-Thaw-", 0, 7) && !values.isEmpty()) {
                out.put(canonical(name.substring(7)), values.getFirst());
            }
        });
        return out;
    }

    /** HTTP/1.1 header names are case-insensitive and arrive lower-cased: {@code restore-mode} becomes {@code Restore-Mode}. */
    private static String canonical(String name) {
        StringBuilder b = new StringBuilder(name.length());
        boolean upper = true;
        for (char c : name.toCharArray()) {
            b.append(upper ? Character.toUpperCase(c) : Character.toLowerCase(c));
            upper = c == '-';
        }
        return b.toString();
    }

    /** Timing headers are informative: a malformed one must not fail an invocation that succeeded. */
    static OptionalDouble decimal(String value) {
        if (value == null) {
            return OptionalDouble.empty();
        }
        try {
            return OptionalDouble.of(Double.parseDouble(value.trim()));
        } catch (NumberFormatException e) {
            return OptionalDouble.empty();
        }
    }

    static OptionalLong integer(String value) {
        if (value == null) {
            return OptionalLong.empty();
        }
        try {
            return OptionalLong.of(Long.parseLong(value.trim()));
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    private HttpRequest.Builder request(String path) {
        var builder = HttpRequest.newBuilder(URI.create(base + path));
        if (token != null) {
            builder.header("Authorization", "Bearer " + token);
        }
        return requestTimeout == null ? builder : builder.timeout(requestTimeout);
    }

    private HttpResponse<byte[]> send(HttpRequest.Builder request) {
        HttpResponse<byte[]> response;
        try {
            response = http.send(request.build(), BodyHandlers.ofByteArray());
        } catch (ConnectException e) {
            throw notRunning(e);
        } catch (HttpTimeoutException e) {
            throw new ThawException(ErrorType.ServiceUnavailable,
                    "the thaw node at " + base + " did not answer within " + requestTimeout.toMillis() / 1000.0 + " s", e);
        } catch (IOException e) {
            throw unreachable(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ThawException(ErrorType.ServiceUnavailable, "interrupted while waiting for the thaw node at " + base, e);
        }
        if (response.statusCode() >= 400) {
            throw ErrorAnswers.toException(response.statusCode(),
                    response.headers().firstValue("X-Thaw-Error-Type").orElse(null), response.body());
        }
        return response;
    }

    private ThawException notRunning(IOException e) {
        return new ThawException(ErrorType.ServiceUnavailable,
                "no thaw node at " + base + ": start one with ./thaw up", e);
    }

    /** The JDK wraps a refused connection in a plain IOException on some paths; look for the cause. */
    private ThawException unreachable(IOException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException) {
                return notRunning(e);
            }
        }
        return new ThawException(ErrorType.ServiceUnavailable,
                "cannot talk to the thaw node at " + base + ": " + e, e);
    }

    private static byte[] readCode(Path jar) {
        try {
            return Files.readAllBytes(jar);
        } catch (NoSuchFileException e) {
            throw ThawException.invalidRequest("code file %s does not exist", jar);
        } catch (IOException e) {
            throw ThawException.invalidRequest("cannot read code file %s: %s", jar, e.getMessage());
        }
    }

    private static String functionPath(String name) {
        return "/functions/" + segment(name);
    }

    /** Names are validated by the node; encoding keeps a bad one from changing the path's shape. */
    private static String segment(String name) {
        if (name == null || name.isEmpty()) {
            throw ThawException.invalidRequest("a function name is required");
        }
        return URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static <T> T parse(byte[] body, Class<T> type) {
        try {
            return Json.mapper().readValue(body, type);
        } catch (IOException e) {
            throw badAnswer(type.getSimpleName(), body, e);
        }
    }

    private static JsonNode tree(byte[] body) {
        try {
            return Json.mapper().readTree(body);
        } catch (IOException e) {
            throw badAnswer("JSON", body, e);
        }
    }

    private static ThawException badAnswer(String what, byte[] body, IOException e) {
        String start = new String(Arrays.copyOf(body, Math.min(body.length, 200)), StandardCharsets.UTF_8);
        return new ThawException(ErrorType.InternalError,
                "the node answered with something that is not " + what + ": " + Json.firstLine(e.getMessage())
                        + " (answer starts with: " + start + ")", e);
    }

    private static String text(byte[] body) {
        return new String(body, StandardCharsets.UTF_8);
    }

    private static URI withoutTrailingSlash(URI uri) {
        String s = uri.toString();
        return s.endsWith("/") ? URI.create(s.substring(0, s.length() - 1)) : uri;
    }

    /** The body of {@code GET /functions}. */
    record FunctionList(List<FunctionInfo> functions) {
        FunctionList {
            functions = functions == null ? List.of() : List.copyOf(functions);
        }
    }
}
