package dev.thaw.node.api;

import dev.thaw.node.event.DeadLetter;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A function's dead letters: {@code GET /functions/{name}/events/dead} lists the asynchronous
 * invocations whose every attempt failed (request id, times, attempts, last error, payload size; with
 * {@code ?payload=true} the payloads too), {@code DELETE} clears them (docs/API.md). In a cluster
 * each node keeps the dead letters of the events it ran: both act on every node, and each letter
 * names its node.
 */
final class EventRoutes implements HttpService {
    private final NodeOperations node;

    EventRoutes(NodeOperations node) {
        this.node = node;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/functions/{name}/events/dead", this::list)
                .delete("/functions/{name}/events/dead", this::clear);
    }

    private void list(ServerRequest req, ServerResponse res) {
        String name = Requests.name(req);
        boolean payloads = req.query().first("payload").map(Boolean::parseBoolean).orElse(false);
        List<Map<String, Object>> letters = new java.util.ArrayList<>(
                node.deadLetters(name).stream().map(l -> describe(l, payloads)).toList());
        Map<String, Object> others = node.onOtherNodes("GET", Requests.target(req));
        if (!others.isEmpty()) {
            String me = node.clusterNodeId().orElse("");
            letters.forEach(l -> l.put("node", me));
            others.forEach((id, answer) -> {
                if (answer instanceof com.fasterxml.jackson.databind.JsonNode n) {
                    for (com.fasterxml.jackson.databind.JsonNode l : n.path("deadLetters")) {
                        @SuppressWarnings("unchecked")
                        Map<String, Object> letter = dev.thaw.core.Json.mapper().convertValue(l, LinkedHashMap.class);
                        letter.put("node", id);
                        letters.add(letter);
                    }
                }
            });
            letters.sort(java.util.Comparator.comparing(l -> java.time.Instant.parse(String.valueOf(l.get("failedAt")))));
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("function", name);
        body.put("deadLetters", letters);
        Requests.json(res, 200, body);
    }

    private void clear(ServerRequest req, ServerResponse res) {
        String name = Requests.name(req);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("function", name);
        int cleared = node.clearDeadLetters(name);
        for (Object answer : node.onOtherNodes("DELETE", Requests.target(req)).values()) {
            if (answer instanceof com.fasterxml.jackson.databind.JsonNode n) {
                cleared += n.path("cleared").asInt();
            }
        }
        body.put("cleared", cleared);
        Requests.json(res, 200, body);
    }

    private static Map<String, Object> describe(DeadLetter l, boolean payload) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("requestId", l.event().requestId());
        l.event().qualifier().ifPresent(q -> m.put("qualifier", q));
        m.put("enqueuedAt", l.event().enqueuedAt().toString());
        m.put("failedAt", l.failedAt().toString());
        m.put("attempts", l.event().attempts());
        m.put("lastError", l.error());
        m.put("payloadBytes", l.event().payload().length);
        if (payload) {
            m.put("payload", new String(l.event().payload(), java.nio.charset.StandardCharsets.UTF_8));
        }
        return m;
    }
}
