package dev.thaw.examples.lambda;

import static org.assertj.core.api.Assertions.assertThat;

import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyRequestEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayProxyResponseEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GreetingApiHandlerTest {

    private final GreetingApiHandler handler = new GreetingApiHandler();
    private final ObjectMapper mapper = new ObjectMapper();
    private final FakeContext context = new FakeContext("req-42");

    @Test
    void greetsFromTheQueryString() throws Exception {
        var response = handler.handleRequest(
                new APIGatewayProxyRequestEvent().withQueryStringParameters(Map.of("name", "Ada")), context);

        assertThat(response.getStatusCode()).isEqualTo(200);
        assertThat(response.getHeaders()).containsEntry("Content-Type", "application/json");
        assertThat(response.getBody()).isEqualTo("{\"greeting\":\"Hello, Ada\",\"requestId\":\"req-42\"}");
        assertThat(context.logged).containsExactly("greeting Ada for request req-42");
    }

    @Test
    void greetsFromAJsonBody() throws Exception {
        var plain = handler.handleRequest(new APIGatewayProxyRequestEvent().withBody("{\"name\":\"Grace\"}"), context);
        String encoded = Base64.getEncoder().encodeToString("{\"name\":\"Linus\"}".getBytes(StandardCharsets.UTF_8));
        var base64 = handler.handleRequest(
                new APIGatewayProxyRequestEvent().withBody(encoded).withIsBase64Encoded(true), context);

        assertThat(body(plain).get("greeting").asText()).isEqualTo("Hello, Grace");
        assertThat(body(base64).get("greeting").asText()).isEqualTo("Hello, Linus");
    }

    @Test
    void greetsTheWorldWithoutAName() throws Exception {
        var response = handler.handleRequest(new APIGatewayProxyRequestEvent(), context);

        assertThat(response.getStatusCode()).isEqualTo(200);
        assertThat(body(response).get("greeting").asText()).isEqualTo("Hello, world");
    }

    @Test
    void rejectsABodyThatIsNotJson() throws Exception {
        var response = handler.handleRequest(new APIGatewayProxyRequestEvent().withBody("{name: oops"), context);

        assertThat(response.getStatusCode()).isEqualTo(400);
        assertThat(response.getHeaders()).containsEntry("Content-Type", "application/json");
        assertThat(body(response).get("error").asText()).startsWith("request body is not valid JSON");
        assertThat(context.logged).containsExactly("rejecting request req-42: body is not JSON");
    }

    @Test
    void eventsMapToAndFromJsonWithPlainJackson() throws Exception {
        // The runtime maps the invocation JSON to the declared event type and back with Jackson.
        var event = mapper.readValue("{\"queryStringParameters\":{\"name\":\"Ada\"},\"httpMethod\":\"GET\"}",
                APIGatewayProxyRequestEvent.class);

        JsonNode json = mapper.readTree(mapper.writeValueAsString(handler.handleRequest(event, context)));

        assertThat(json.get("statusCode").asInt()).isEqualTo(200);
        assertThat(json.get("body").asText()).contains("Hello, Ada");
    }

    private JsonNode body(APIGatewayProxyResponseEvent response) throws Exception {
        return mapper.readTree(response.getBody());
    }
}
