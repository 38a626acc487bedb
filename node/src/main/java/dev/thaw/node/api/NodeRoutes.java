package dev.thaw.node.api;

import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/** {@code GET /healthz} and {@code GET /metrics}. */
final class NodeRoutes implements HttpService {
    private final NodeOperations node;

    NodeRoutes(NodeOperations node) {
        this.node = node;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/healthz", (req, res) -> {
                    var health = node.health();
                    Requests.json(res, "ok".equals(health.get("status")) ? 200 : 503, health);
                })
                .get("/metrics", this::metrics);
    }

    private void metrics(ServerRequest req, ServerResponse res) {
        res.header("Content-Type", node.metricsContentType()).send(node.scrapeMetrics());
    }
}
