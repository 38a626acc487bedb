package dev.thaw.node.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.thaw.core.DeployRequest;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.Json;
import dev.thaw.core.ThawException;
import dev.thaw.node.function.FunctionLog;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** Deploy, list, describe, delete, logs and evict: {@code /functions…} (docs/API.md). */
final class FunctionRoutes implements HttpService {
    private final NodeOperations node;

    FunctionRoutes(NodeOperations node) {
        this.node = node;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/functions", this::list)
                .put("/functions/{name}", this::deploy)
                .get("/functions/{name}", (req, res) -> Requests.json(res, 200, node.describe(Requests.name(req))))
                .delete("/functions/{name}", this::delete)
                .get("/functions/{name}/logs", this::logs)
                .delete("/functions/{name}/instances", (req, res) ->
                        Requests.json(res, 200, Map.of("evicted", node.evict(Requests.name(req)))));
    }

    private void list(ServerRequest req, ServerResponse res) {
        ObjectNode body = Json.mapper().createObjectNode();
        body.set("functions", Json.mapper().valueToTree(node.describeAll()));
        Requests.json(res, 200, body);
    }

    private void deploy(ServerRequest req, ServerResponse res) {
        String name = Requests.name(req);
        byte[] body = Requests.readBounded(req, Requests.MAX_DEPLOY_BYTES, "deployment");
        DeployRequest dr = Json.read(body, DeployRequest.class, "the deployment request");
        if (dr.manifest() == null) {
            throw ThawException.invalidRequest("the deployment request has no 'manifest'");
        }
        FunctionManifest m = dr.manifest();
        if (m.name() != null && !m.name().equals(name)) {
            throw ThawException.invalidRequest("manifest name '%s' does not match the path's '%s'", m.name(), name);
        }
        boolean existed = node.isDeployed(name);
        Requests.json(res, existed ? 200 : 201, node.deploy(m.withName(name), dr.code()));
    }

    private void delete(ServerRequest req, ServerResponse res) {
        String name = Requests.name(req);
        long version = node.delete(name);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("deleted", name);
        body.put("version", version);
        Requests.json(res, 200, body);
    }

    private void logs(ServerRequest req, ServerResponse res) {
        int tail;
        try {
            tail = Integer.parseInt(req.query().first("tail").orElse("200"));
        } catch (NumberFormatException e) {
            throw ThawException.invalidRequest("tail must be a number, got '%s'", req.query().first("tail").orElse(""));
        }
        if (tail < 1 || tail > FunctionLog.MAX_LINES_IN_MEMORY) {
            throw ThawException.invalidRequest("tail must be between 1 and %d, got %d", FunctionLog.MAX_LINES_IN_MEMORY, tail);
        }
        String text = String.join("\n", node.logs(Requests.name(req), tail));
        res.header("Content-Type", "text/plain; charset=utf-8")
                .send((text.isEmpty() ? "" : text + "\n").getBytes(StandardCharsets.UTF_8));
    }
}
