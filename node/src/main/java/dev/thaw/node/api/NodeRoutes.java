package dev.thaw.node.api;

import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/** {@code GET /healthz}, {@code GET /metrics} and, in a cluster, {@code GET /cluster/nodes}. */
final class NodeRoutes implements HttpService {
    private final NodeOperations node;

    NodeRoutes(NodeOperations node) {
        this.node = node;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/healthz", (req, res) -> {
                    var health = node.health();
                    boolean inFull = req.context().get(Access.HEALTH_IN_FULL, Boolean.class).orElse(false);
                    Requests.json(res, "ok".equals(health.get("status")) ? 200 : 503,
                            inFull ? health : java.util.Map.of("status", health.get("status")));
                })
                .get("/metrics", this::metrics)
                .get("/cluster/nodes", (req, res) -> Requests.json(res, 200, node.clusterNodes()));
    }

    private void metrics(ServerRequest req, ServerResponse res) {
        res.header("Content-Type", node.metricsContentType()).send(node.scrapeMetrics());
    }
}
