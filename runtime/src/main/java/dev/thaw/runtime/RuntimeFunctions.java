package dev.thaw.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.thaw.api.FunctionCallException;
import dev.thaw.api.Functions;
import dev.thaw.protocol.RuntimeProtocol.Routes;
import dev.thaw.runtime.NodeConnections.Conn;
import dev.thaw.runtime.NodeConnections.Response;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/*
 * The instance's side of calls of other functions: dev.thaw.api.Functions over the node's invoke
 * API on the instance's own Runtime API listener (thaw-node/functions/{name}/invoke, what
 * THAW_NODE_URL names), registered as the service Functions.get() finds.
 *
 * Each call takes a kept-alive connection from NodeConnections' pool. An invocation is never sent
 * twice: only a request that could not be written whole on a pooled connection (one the endpoint
 * closed) is tried again, on a fresh connection, since a request cut short is never run; a failure
 * while the answer is read may follow a run of the function, and is the caller's to judge.
 */
/** {@link Functions} for functions in a thaw instance (see the comment above). */
public final class RuntimeFunctions implements Functions {
    /** The largest answer: a 6 MB result and its JSON framing, as the node's own bound. */
    private static final int MAX_ANSWER = 7 * 1024 * 1024;

    /** Made by {@link java.util.ServiceLoader} for {@link Functions#get()}. */
    public RuntimeFunctions() {
    }

    @Override
    public byte[] invoke(String function, byte[] payload) {
        return call(function, payload, "RequestResponse", 200).body;
    }

    @Override
    public String invokeEvent(String function, byte[] payload) {
        return call(function, payload, "Event", 202).requestId;
    }

    private record Answer(byte[] body, String requestId) {
    }

    private static Answer call(String function, byte[] payload, String type, int expected) {
        if (function == null || function.isBlank()) {
            throw new IllegalArgumentException("the function to invoke is missing: a name, name:qualifier or ARN");
        }
        byte[] body = payload == null ? new byte[0] : payload;
        String path = Routes.NODE_API + "/functions/"
                + URLEncoder.encode(function.strip(), StandardCharsets.UTF_8).replace("+", "%20") + "/invoke";
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Content-Type", "application/json");
        headers.put("X-Amz-Invocation-Type", type);
        headers.put("Content-Length", Integer.toString(body.length));
        for (int attempt = 0; ; attempt++) {
            Conn c;
            try {
                c = NodeConnections.take();
            } catch (IOException e) {
                throw unavailable(function, "cannot connect to the node", e);
            }
            try {
                c.writeHead("POST", path, headers);
                c.out.write(body);
                c.out.flush();
            } catch (IOException e) {
                c.close();
                if (c.reused && attempt == 0) {
                    continue; // a pooled connection the endpoint had closed: no whole request went out
                }
                throw unavailable(function, "the call could not be sent", e);
            }
            try {
                Response r = c.readHead();
                byte[] answer = c.readBody(r, MAX_ANSWER);
                if (r.status() != expected) {
                    throw refusal(function, r.status(), answer);
                }
                return new Answer(answer, r.header("x-amz-request-id"));
            } catch (IOException e) {
                c.close();
                throw unavailable(function, "the node's answer broke off (the function may have run)", e);
            }
        }
    }

    private static FunctionCallException unavailable(String function, String what, IOException e) {
        return new FunctionCallException(0, FunctionCallException.UNAVAILABLE,
                "calling " + function + ": " + what + ": " + e.getMessage(), e);
    }

    /** The node's error body, {@code {"errorType", "errorMessage"}}, as an exception. */
    private static FunctionCallException refusal(String function, int status, byte[] answer) {
        String type = "Http" + status;
        String message = new String(answer, StandardCharsets.UTF_8);
        try {
            JsonNode error = ErrorBodies.MAPPER.readTree(answer);
            type = error.path("errorType").asText(type);
            message = error.path("errorMessage").asText(message);
        } catch (IOException e) {
            // not the node's error shape: the status and the body say what there is
        }
        return new FunctionCallException(status, type, "calling " + function + ": " + message, null);
    }

    /** Parses error bodies only; made at the first one. */
    private static final class ErrorBodies {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }
}
