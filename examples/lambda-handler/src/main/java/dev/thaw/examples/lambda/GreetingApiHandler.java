package dev.thaw.examples.lambda;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An API Gateway proxy handler that greets by name, written as for AWS Lambda.
 * Handler: {@code dev.thaw.examples.lambda.GreetingApiHandler::handleRequest}.
 *
 * <p>The name comes from the query parameter {@code name}, else from a JSON body {@code {"name":..}},
 * else it is "world". The answer is {@code 200 {"greeting":"Hello, NAME","requestId":..}}; a body that
 * is not JSON gets {@code 400 {"error":..}}.
 */
public class GreetingApiHandler implements RequestHandler<APIGatewayProxyRequestEvent, APIGatewayProxyResponseEvent> {

    // Built once at init so that a snapshot already holds a warmed-up mapper.
    private final ObjectMapper mapper = new ObjectMapper();

    /** Creates the handler. */
    public GreetingApiHandler() {
    }

    @Override
    public APIGatewayProxyResponseEvent handleRequest(APIGatewayProxyRequestEvent event, Context context) {
        String name;
        try {
            name = nameOf(event);
        } catch (JsonProcessingException e) {
            context.getLogger().log("rejecting request " + context.getAwsRequestId() + ": body is not JSON");
            return respond(400, Map.of("error", "request body is not valid JSON: " + e.getOriginalMessage()));
        }
        context.getLogger().log("greeting " + name + " for request " + context.getAwsRequestId());
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("greeting", "Hello, " + name);
        body.put("requestId", context.getAwsRequestId());
        return respond(200, body);
    }

    private String nameOf(APIGatewayProxyRequestEvent event) throws JsonProcessingException {
        if (event == null) {
            return "world";
        }
        Map<String, String> query = event.getQueryStringParameters();
        if (query != null && notBlank(query.get("name"))) {
            return query.get("name");
        }
        String body = bodyText(event);
        if (!notBlank(body)) {
            return "world";
        }
        JsonNode name = mapper.readTree(body).path("name");
        return name.isValueNode() && notBlank(name.asText()) ? name.asText() : "world";
    }

    private static String bodyText(APIGatewayProxyRequestEvent event) {
        // API Gateway base64-encodes bodies it treats as binary.
        if (Boolean.TRUE.equals(event.getIsBase64Encoded()) && event.getBody() != null) {
            return new String(Base64.getDecoder().decode(event.getBody()), StandardCharsets.UTF_8);
        }
        return event.getBody();
    }

    private APIGatewayProxyResponseEvent respond(int status, Map<String, Object> body) {
        try {
            return new APIGatewayProxyResponseEvent()
                    .withStatusCode(status)
                    .withHeaders(Map.of("Content-Type", "application/json"))
                    .withBody(mapper.writeValueAsString(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize a map of strings", e);
        }
    }

    private static boolean notBlank(String s) {
        return s != null && !s.isBlank();
    }
}
