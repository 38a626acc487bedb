package dev.thaw.node;

import dev.thaw.core.FunctionManifest;
import dev.thaw.core.ThawException;
import dev.thaw.node.function.FunctionRef;
import dev.thaw.node.instance.FunctionCalls;
import dev.thaw.node.placement.Forwarder;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.IntSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/*
 * A function's own code invokes other functions through its node (THAW_NODE_URL): the request
 * arrives on the instance's Runtime API listener, which is the caller's identity (a sandboxed
 * instance reaches no other listener of the node's), and leaves as a request to the node's own
 * public API, with the node's API token, over a kept-alive loopback connection. So a function's
 * call is answered exactly as an outside caller's: the same errors, the Lambda path's shape, Event
 * invocations queued durably, a cluster's front door placing it on any node.
 *
 * Only the two invoke paths pass, and only to functions the caller's deployment names in
 * mayInvoke: the instance never holds the token, and cannot deploy, delete, read logs or reach any
 * other route. The target's name is checked after it is decoded and parsed as the node will parse
 * it (name, name:qualifier, ARN), so no spelling reaches a function the list does not name.
 */
/** The node's invoke API for functions' own code (see the comment above). */
final class NodeCallRelay implements FunctionCalls {
    private static final System.Logger LOG = System.getLogger("thaw.node");
    private static final Pattern THAW_PATH = Pattern.compile("/functions/([^/?]+)/invoke");
    private static final Pattern LAMBDA_PATH = Pattern.compile("/2015-03-31/functions/([^/?]+)/invocations");
    /** Request headers that go on with the call; everything else (credentials above all) stays behind. */
    private static final List<String> PASSED = List.of("content-type", "x-amz-invocation-type", "x-amz-log-type",
            "x-amz-client-context");
    /** Headers of the node's answer that belong to its connection, not to the answer. */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "date", "content-length",
            "transfer-encoding");

    private final Forwarder forwarder;
    private final IntSupplier port;
    private final String token;

    /**
     * @param forwarder the node's kept-alive connections
     * @param port the node's public API port (on 127.0.0.1)
     * @param token the node's API token
     */
    NodeCallRelay(Forwarder forwarder, IntSupplier port, String token) {
        this.forwarder = forwarder;
        this.port = port;
        this.token = token;
    }

    @Override
    public Answer invoke(FunctionManifest caller, String method, String target, Map<String, String> headers, byte[] body) {
        int q = target.indexOf('?');
        String path = q < 0 ? target : target.substring(0, q);
        Matcher m = THAW_PATH.matcher(path);
        boolean lambda = false;
        if (!m.matches()) {
            m = LAMBDA_PATH.matcher(path);
            lambda = m.matches();
            if (!lambda) {
                return refusal(404, "ResourceNotFoundException", "THAW_NODE_URL serves invocations only: POST"
                        + " /functions/{name}/invoke or POST /2015-03-31/functions/{name}/invocations, not " + method + " "
                        + path);
            }
        }
        if (!method.equals("POST")) {
            return refusal(405, "MethodNotAllowed", "an invocation is a POST, not " + method);
        }
        String callee;
        try {
            callee = FunctionRef.parse(URLDecoder.decode(m.group(1), StandardCharsets.UTF_8), Optional.empty()).name();
        } catch (ThawException | IllegalArgumentException e) {
            return refusal(400, lambda ? "InvalidParameterValueException" : "InvalidRequest", e.getMessage());
        }
        if (!caller.mayInvoke(callee)) {
            LOG.log(System.Logger.Level.DEBUG, "function " + caller.name() + " may not invoke " + callee);
            return refusal(403, "AccessDeniedException", "function '" + caller.name() + "' may not invoke function '"
                    + callee + "': its deployment does not name it (thaw deploy --may-invoke " + callee + ")");
        }
        List<Map.Entry<String, String>> h = new ArrayList<>();
        h.add(Map.entry("Authorization", "Bearer " + token));
        for (String name : PASSED) {
            String v = headers.get(name);
            if (v != null) {
                h.add(Map.entry(name, v));
            }
        }
        try {
            Forwarder.Answer a = forwarder.send(URI.create("http://127.0.0.1:" + port.getAsInt()), "POST", target, h, body);
            List<Map.Entry<String, String>> out = new ArrayList<>();
            for (Map.Entry<String, String> e : a.headers()) {
                if (!HOP_BY_HOP.contains(e.getKey().toLowerCase(Locale.ROOT))) {
                    out.add(e);
                }
            }
            return new Answer(a.status(), out, a.body());
        } catch (Forwarder.NodeUnreachable e) {
            return refusal(e.requestSent() ? 502 : 503, "ServiceException", "the node's API did not answer the call"
                    + (e.requestSent() ? " (the invocation may have run)" : "") + ": " + e.getMessage());
        }
    }

    private static Answer refusal(int status, String type, String message) {
        Map<String, String> body = new java.util.LinkedHashMap<>();
        body.put("errorType", type);
        body.put("errorMessage", message);
        return new Answer(status, List.of(Map.entry("Content-Type", "application/json")), dev.thaw.core.Json.write(body));
    }
}
