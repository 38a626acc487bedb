package dev.thaw.node.api;

import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Snapshots in the store and the store itself: {@code /snapshots…}, {@code /store/gc} (docs/API.md).
 * In a cluster, a function's report, eviction, load and the store's collection act on every node
 * (each holds its own working copies and tiers): this node's answer as on a node alone, and the
 * others' under {@code nodes}.
 */
final class SnapshotRoutes implements HttpService {
    private final NodeOperations node;

    SnapshotRoutes(NodeOperations node) {
        this.node = node;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/snapshots", (req, res) -> Requests.json(res, 200, Map.of("snapshots", node.snapshotReports())))
                .get("/snapshots/{name}", (req, res) -> Requests.json(res, 200,
                        withOthers(req, new LinkedHashMap<>(node.snapshotReport(Requests.name(req))))))
                .post("/snapshots/{name}/evict", this::evict)
                .post("/snapshots/{name}/load", (req, res) -> Requests.json(res, 200,
                        withOthers(req, new LinkedHashMap<>(node.loadSnapshot(Requests.name(req))))))
                .get("/snapshots/{name}/compare/{other}", this::compare)
                .post("/store/gc", this::gc);
    }

    private void evict(ServerRequest req, ServerResponse res) {
        String name = Requests.name(req);
        String tiers = req.query().first("tiers").orElse("working");
        Set<String> places = new TreeSet<>(Arrays.stream(tiers.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList());
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("function", name);
        body.put("dropped", node.evictSnapshot(name, places));
        Requests.json(res, 200, withOthers(req, body));
    }

    private void compare(ServerRequest req, ServerResponse res) {
        String name = Requests.name(req);
        String other = Requests.checkedName(req.path().pathParameters().get("other"));
        var s = node.compareSnapshots(name, other);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("function", name);
        body.put("other", other);
        body.put("bytes", s.bytes());
        body.put("otherBytes", s.otherBytes());
        body.put("sharedBytes", s.sharedBytes());
        body.put("storedTogether", s.storedTogether());
        body.put("dedupRatio", s.ratio());
        Requests.json(res, 200, body);
    }

    private void gc(ServerRequest req, ServerResponse res) {
        var result = node.gc();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("manifests", result.manifests());
        body.put("liveChunks", result.liveChunks());
        body.put("deleted", result.deleted());
        body.put("keptRecent", result.keptRecent());
        body.put("keptLeased", result.keptLeased());
        body.put("tookMs", result.took().toMillis());
        Requests.json(res, 200, withOthers(req, body));
    }

    /** Adds the other nodes' answers to the same request, when there are any. */
    private Map<String, Object> withOthers(ServerRequest req, Map<String, Object> body) {
        Map<String, Object> others = node.onOtherNodes(req.prologue().method().text(), Requests.target(req));
        if (!others.isEmpty()) {
            body.put("nodes", others);
        }
        return body;
    }
}
