package dev.thaw.testfunctions;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A function that attacks its platform, one attempt per invocation, and reports what happened instead
 * of failing: {@code {"action": …, "allowed": true|false, "detail": …}}. Handler {@code Hostile::handle}.
 *
 * <p>Input {@code {"action": A, "path": P, "host": H, "port": N, "mb": M, "data": D, "headers": {…}}};
 * actions: {@code read} (a file's first bytes), {@code list} (a directory), {@code write} (create a
 * file), {@code connect} (a TCP connection), {@code http} (a request to {@code host:port path} with
 * {@code headers}, body {@code data}), {@code heap} and {@code native} (allocate M MB), {@code fork}
 * ({@code /bin/sh -c data}), {@code forkbomb} (start processes until refused), {@code syscall}
 * (mount, unshare, ptrace, keyctl, bpf: returns errno), {@code whoami} (uid, gid, capabilities,
 * seccomp and no_new_privs from {@code /proc/self/status}, and the processes it can see),
 * {@code env} (its own environment's names), {@code scratch} (write M MB to /tmp), {@code fetch} (a GET of
 * the URL {@code data} with the JDK's {@code HttpClient} and its default proxy selector, which honours the
 * {@code http.proxyHost} system properties: the body when the answer is 200, else a failure naming the
 * status and body), {@code call} (invokes the function {@code path} with the event {@code data}
 * through {@link dev.thaw.api.Functions}, queued when {@code event} is set), {@code node} (a
 * request to the node's invoke API at {@code THAW_NODE_URL} plus {@code path}, method {@code host} (default POST), body {@code data}, {@code headers}: the status line
 * and the body).
 */
public class Hostile implements Handler<Map<String, Object>, Map<String, Object>> {
    private static final List<byte[]> HELD = new ArrayList<>();

    /** Creates the handler. */
    public Hostile() {
    }

    @Override
    public Map<String, Object> handle(Map<String, Object> in, InvocationContext context) throws Exception {
        String action = String.valueOf(in.get("action"));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("action", action);
        try {
            Object detail = switch (action) {
                case "read" -> read(Path.of(str(in, "path")));
                case "list" -> list(Path.of(str(in, "path")));
                case "write" -> write(Path.of(str(in, "path")), str(in, "data"));
                case "connect" -> connect(str(in, "host"), num(in, "port"));
                case "http" -> http(str(in, "host"), num(in, "port"), str(in, "method"), str(in, "path"),
                        str(in, "data"), headers(in));
                case "heap" -> heap(num(in, "mb"));
                case "native" -> nativeMemory(num(in, "mb"));
                case "fork" -> fork(str(in, "data"));
                case "forkbomb" -> forkBomb();
                case "syscall" -> syscall(str(in, "data"));
                case "whoami" -> whoami();
                case "env" -> new ArrayList<>(System.getenv().keySet());
                case "scratch" -> scratch(num(in, "mb"));
                case "fetch" -> fetch(str(in, "data"));
                case "call" -> call(str(in, "path"), in.get("data") == null ? "" : str(in, "data"), in.get("event") != null);
                case "node" -> node(in.get("host") == null ? "POST" : str(in, "host"), str(in, "path"),
                        in.get("data") == null ? "" : str(in, "data"), headers(in));
                default -> throw new IllegalArgumentException("unknown action '" + action + "'");
            };
            out.put("allowed", true);
            out.put("detail", detail);
        } catch (IOException | SecurityException | UnsupportedOperationException | OutOfMemoryError e) {
            out.put("allowed", false);
            out.put("detail", e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        return out;
    }

    private static String read(Path p) throws IOException {
        try (InputStream s = Files.newInputStream(p)) {
            return new String(s.readNBytes(200), StandardCharsets.UTF_8);
        }
    }

    private static List<String> list(Path p) throws IOException {
        try (Stream<Path> s = Files.list(p)) {
            return s.map(x -> x.getFileName().toString()).sorted().toList();
        }
    }

    private static String write(Path p, String data) throws IOException {
        Files.writeString(p, data == null ? "planted" : data);
        return "wrote " + p;
    }

    private static String connect(String host, int port) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 2_000);
            return "connected to " + host + ":" + port;
        }
    }

    private static String http(String host, int port, String method, String path, String body, Map<String, String> headers)
            throws IOException {
        String answer = exchange(host, port, method == null ? "GET" : method, path, body, headers, 5_000, 300);
        return answer.isEmpty() ? "no answer" : answer.lines().findFirst().orElse("");
    }

    /** A request to THAW_NODE_URL plus {@code path} over a plain socket: the status line and the body. */
    /**
     * Invokes a function through the runtime's {@link dev.thaw.api.Functions}: its result, the
     * request id of a queued event, or the refusal's status, error type and message.
     */
    private static String call(String function, String event, boolean queued) {
        try {
            return queued ? "queued " + dev.thaw.api.Functions.get().invokeEvent(function, event.getBytes(StandardCharsets.UTF_8))
                    : "result " + dev.thaw.api.Functions.get().invoke(function, event);
        } catch (dev.thaw.api.FunctionCallException e) {
            return "refused " + e.status() + " " + e.errorType() + ": " + e.getMessage();
        }
    }

    private static String node(String method, String path, String body, Map<String, String> headers) throws IOException {
        java.net.URI base = java.net.URI.create(System.getenv("THAW_NODE_URL"));
        String answer = exchange(base.getHost(), base.getPort(), method, base.getRawPath() + path, body, headers, 20_000,
                Integer.MAX_VALUE);
        int end = answer.indexOf("\r\n\r\n");
        return answer.lines().findFirst().orElse("no answer") + (end < 0 ? "" : " " + answer.substring(end + 4));
    }

    /** One HTTP/1.1 request on a connection of its own: the answer's first {@code maxBytes} bytes, as text. */
    private static String exchange(String host, int port, String method, String path, String body,
                                   Map<String, String> headers, int timeoutMs, int maxBytes) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 2_000);
            s.setSoTimeout(timeoutMs);
            byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
            StringBuilder req = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: " + host + ":" + port
                    + "\r\nConnection: close\r\nContent-Length: " + b.length + "\r\n");
            headers.forEach((k, v) -> req.append(k).append(": ").append(v).append("\r\n"));
            req.append("\r\n");
            OutputStream o = s.getOutputStream();
            o.write(req.toString().getBytes(StandardCharsets.UTF_8));
            o.write(b);
            o.flush();
            return new String(s.getInputStream().readNBytes(maxBytes), StandardCharsets.UTF_8);
        }
    }

    private static String fetch(String url) throws IOException, InterruptedException {
        try (java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder()
                .connectTimeout(java.time.Duration.ofSeconds(5)).build()) {
            java.net.http.HttpResponse<String> r = client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url))
                    .timeout(java.time.Duration.ofSeconds(10)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IOException("HTTP " + r.statusCode() + ": " + r.body().strip());
            }
            return r.body();
        }
    }

    private static String heap(int mb) {
        for (int i = 0; i < mb; i++) {
            HELD.add(new byte[1 << 20]);
        }
        return "holding " + HELD.size() + " MB of heap";
    }

    private static String nativeMemory(int mb) {
        Arena arena = Arena.ofShared(); // never closed: held like a leak
        for (int i = 0; i < mb; i++) {
            MemorySegment s = arena.allocate(1 << 20);
            s.fill((byte) 1); // touched, so it is really used
        }
        return "holding " + mb + " MB of native memory";
    }

    private static String fork(String command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("/bin/sh", "-c", command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return "exit " + p.waitFor() + ": " + output.strip();
    }

    private static String forkBomb() throws InterruptedException {
        List<Process> started = new ArrayList<>();
        String refusal = null;
        try {
            while (started.size() < 5_000) {
                started.add(new ProcessBuilder("/bin/sleep", "30").start());
            }
        } catch (IOException e) {
            refusal = e.getMessage();
        } finally {
            started.forEach(Process::destroyForcibly);
            for (Process p : started) {
                p.waitFor();
            }
        }
        return "started " + started.size() + " processes" + (refusal == null ? "" : ", then refused: " + refusal);
    }

    private static String scratch(int mb) throws IOException {
        Path file = Path.of("/tmp", "scratch-" + System.nanoTime());
        byte[] block = new byte[1 << 20];
        try (OutputStream o = Files.newOutputStream(file)) {
            for (int i = 0; i < mb; i++) {
                o.write(block);
            }
        } finally {
            Files.deleteIfExists(file);
        }
        return "wrote " + mb + " MB to /tmp";
    }

    /** @return what a system call answered: 0, or -1 with its errno */
    private static String syscall(String which) throws IOException {
        try {
            return invokeSyscall(which);
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("syscall " + which + " could not be called: " + t, t);
        }
    }

    private static String invokeSyscall(String which) throws Throwable {
        Linker linker = Linker.nativeLinker();
        var errno = Linker.Option.captureCallState("errno");
        var layout = Linker.Option.captureStateLayout();
        MethodHandle syscall = linker.downcallHandle(linker.defaultLookup().find("syscall").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG), errno);
        long nr = switch (which) {
            case "mount" -> 165;
            case "unshare" -> 272;
            case "ptrace" -> 101;
            case "keyctl" -> 250;
            case "bpf" -> 321;
            case "setuid0" -> 105;
            default -> throw new IllegalArgumentException("unknown syscall '" + which + "'");
        };
        long a0 = switch (which) {
            case "unshare" -> 0x10000000L; // CLONE_NEWUSER
            case "ptrace" -> 16; // PTRACE_ATTACH
            default -> 0;
        };
        long a1 = which.equals("ptrace") ? 1 : 0; // pid 1
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(layout);
            long rc = (long) syscall.invokeExact(state, nr, a0, a1, 0L, 0L);
            int e = state.get(ValueLayout.JAVA_INT, layout.byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno")));
            return rc == 0 ? "0" : "-1 errno " + e;
        }
    }

    private static Map<String, Object> whoami() throws IOException {
        Map<String, Object> me = new LinkedHashMap<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            for (String key : List.of("Uid:", "Gid:", "CapEff:", "CapPrm:", "CapBnd:", "NoNewPrivs:", "Seccomp:")) {
                if (line.startsWith(key)) {
                    me.put(key.substring(0, key.length() - 1), line.substring(key.length()).strip());
                }
            }
        }
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            me.put("processes", procs.map(p -> p.getFileName().toString()).filter(n -> n.chars().allMatch(Character::isDigit))
                    .count());
        }
        return me;
    }

    private static String str(Map<String, Object> in, String key) {
        Object v = in.get(key);
        return v == null ? null : v.toString();
    }

    private static int num(Map<String, Object> in, String key) {
        return ((Number) in.get(key)).intValue();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> headers(Map<String, Object> in) {
        Object h = in.get("headers");
        return h == null ? Map.of() : (Map<String, String>) h;
    }
}
