package dev.thaw.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.core.ErrorType;
import dev.thaw.core.Json;
import dev.thaw.core.ThawException;
import dev.thaw.node.function.FunctionRef;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Versions and aliases: thaw's {@code /functions/{name}/versions} and {@code /functions/{name}/aliases…},
 * and Lambda's alias operations ({@code CreateAlias}, {@code GetAlias}, {@code UpdateAlias},
 * {@code DeleteAlias}, {@code ListAliases}) under {@code /2015-03-31/functions/{name}/aliases}, in
 * Lambda's shapes and with AWS's error shape, so that {@code aws lambda create-alias} works too.
 * An alias points to a version number ({@code $LATEST} is not an alias target here).
 */
final class AliasRoutes implements HttpService {
    private static final System.Logger LOG = System.getLogger("thaw.node");
    private static final String LAMBDA = "/2015-03-31/functions/{name}/aliases";

    private final NodeOperations node;

    AliasRoutes(NodeOperations node) {
        this.node = node;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/functions/{name}/versions", this::versions)
                .get("/functions/{name}/aliases", this::list)
                .put("/functions/{name}/aliases/{alias}", this::set)
                .delete("/functions/{name}/aliases/{alias}", this::delete)
                .post(LAMBDA, lambda(this::lambdaCreate))
                .get(LAMBDA, lambda(this::lambdaList))
                .get(LAMBDA + "/{alias}", lambda(this::lambdaGet))
                .put(LAMBDA + "/{alias}", lambda(this::lambdaUpdate))
                .delete(LAMBDA + "/{alias}", lambda(this::lambdaDelete));
    }

    // ---- thaw's shape --------------------------------------------------------------------------

    private void versions(ServerRequest req, ServerResponse res) {
        String name = Requests.name(req);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("function", name);
        body.put("versions", node.versions(name));
        Requests.json(res, 200, body);
    }

    private void list(ServerRequest req, ServerResponse res) {
        String name = Requests.name(req);
        List<Map<String, Object>> aliases = new ArrayList<>();
        node.aliases(name).forEach((alias, version) -> aliases.add(Map.of("alias", alias, "version", version)));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("function", name);
        body.put("aliases", aliases);
        Requests.json(res, 200, body);
    }

    private void set(ServerRequest req, ServerResponse res) {
        String name = Requests.name(req);
        String alias = req.path().pathParameters().get("alias");
        JsonNode body = Json.read(Requests.readBounded(req, 64 * 1024, "alias request"), JsonNode.class, "the alias request");
        JsonNode version = body.path("version");
        if (!version.canConvertToLong() || version.asLong() < 1) {
            throw ThawException.invalidRequest("the alias request needs \"version\": a version number, got %s", version);
        }
        Optional<Long> before = node.setAlias(name, alias, version.asLong());
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("function", name);
        answer.put("alias", alias);
        answer.put("version", version.asLong());
        before.ifPresent(b -> answer.put("previousVersion", b));
        Requests.json(res, before.isPresent() ? 200 : 201, answer);
    }

    private void delete(ServerRequest req, ServerResponse res) {
        String name = Requests.name(req);
        String alias = req.path().pathParameters().get("alias");
        long version = node.deleteAlias(name, alias).orElseThrow(() -> noAlias(name, alias));
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("function", name);
        answer.put("deleted", alias);
        answer.put("version", version);
        Requests.json(res, 200, answer);
    }

    private static ThawException noAlias(String name, String alias) {
        return new ThawException(ErrorType.FunctionNotFound, "function '" + name + "' has no alias '" + alias + "'");
    }

    // ---- Lambda's shape ------------------------------------------------------------------------

    /** Wraps a Lambda route so that its errors are answered in AWS's shape. */
    private static Handler lambda(Handler handler) {
        return (req, res) -> {
            try {
                handler.handle(req, res);
            } catch (ThawException e) {
                LambdaErrors.send(res, e, UUID.randomUUID().toString());
            } catch (Exception e) {
                LOG.log(System.Logger.Level.ERROR, "unexpected failure on " + req.path().path(), e);
                LambdaErrors.send(res, new ThawException(ErrorType.InternalError, "the node failed unexpectedly: "
                        + e.getClass().getSimpleName() + ": " + e.getMessage()), UUID.randomUUID().toString());
            }
        };
    }

    private static String function(ServerRequest req) {
        return FunctionRef.parse(req.path().pathParameters().get("name"), Optional.empty()).name();
    }

    private static JsonNode body(ServerRequest req) {
        byte[] bytes = Requests.readBounded(req, 64 * 1024, "request");
        if (bytes.length == 0) {
            return Json.mapper().createObjectNode();
        }
        try {
            return Json.mapper().readTree(bytes);
        } catch (java.io.IOException e) {
            throw LambdaErrors.invalidContent("the request body is not valid JSON: %s", Json.firstLine(e.getMessage()));
        }
    }

    private static long version(JsonNode body) {
        String v = body.path("FunctionVersion").asText("");
        try {
            long n = Long.parseLong(v);
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw LambdaErrors.invalidParameter("FunctionVersion must be a version number, got '%s' (aliases here point to"
                + " published versions; every deploy is one)", v);
    }

    private void lambdaCreate(ServerRequest req, ServerResponse res) {
        String name = function(req);
        JsonNode body = body(req);
        String alias = body.path("Name").asText("");
        long version = version(body);
        if (node.aliases(name).containsKey(alias)) {
            throw LambdaErrors.conflict("Alias already exists: %s", arn(name, alias));
        }
        node.setAlias(name, alias, version);
        Requests.json(res, 201, configuration(name, alias, version));
    }

    private void lambdaList(ServerRequest req, ServerResponse res) {
        String name = function(req);
        List<Map<String, Object>> aliases = new ArrayList<>();
        node.aliases(name).forEach((alias, version) -> aliases.add(configuration(name, alias, version)));
        Requests.json(res, 200, Map.of("Aliases", aliases));
    }

    private void lambdaGet(ServerRequest req, ServerResponse res) {
        String name = function(req);
        String alias = req.path().pathParameters().get("alias");
        Long version = node.aliases(name).get(alias);
        if (version == null) {
            throw noAlias(name, alias);
        }
        Requests.json(res, 200, configuration(name, alias, version));
    }

    private void lambdaUpdate(ServerRequest req, ServerResponse res) {
        String name = function(req);
        String alias = req.path().pathParameters().get("alias");
        JsonNode body = body(req);
        if (!node.aliases(name).containsKey(alias)) {
            throw noAlias(name, alias);
        }
        long version = body.has("FunctionVersion") ? version(body) : node.aliases(name).get(alias);
        node.setAlias(name, alias, version);
        Requests.json(res, 200, configuration(name, alias, version));
    }

    private void lambdaDelete(ServerRequest req, ServerResponse res) {
        String name = function(req);
        String alias = req.path().pathParameters().get("alias");
        node.deleteAlias(name, alias).orElseThrow(() -> noAlias(name, alias));
        res.status(204).send();
    }

    private static String arn(String name, String alias) {
        return "arn:thaw:lambda:local:000000000000:function:" + name + ":" + alias;
    }

    private static Map<String, Object> configuration(String name, String alias, long version) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("AliasArn", arn(name, alias));
        c.put("Name", alias);
        c.put("FunctionVersion", Long.toString(version));
        c.put("Description", "");
        c.put("RevisionId", UUID.nameUUIDFromBytes((name + ":" + alias + ":" + version).getBytes(
                java.nio.charset.StandardCharsets.UTF_8)).toString());
        return c;
    }
}
