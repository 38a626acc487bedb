package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.client.InvocationResult;
import dev.thaw.core.StartKind;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.Json;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The shipped examples, booted and restored, answer what their READMEs say. */
class ExamplesIT extends WithSnapshotNode {

    static Stream<Arguments> examples() {
        return Stream.of(
                Arguments.of("hello", "dev.thaw.examples.hello.Hello::handle", 256, "{\"name\":\"Ada\"}",
                        "/message", "Hello, Ada!"),
                Arguments.of("json-transform", "dev.thaw.examples.json.OrderSummarizer::apply", 256,
                        "{\"id\":\"o-1\",\"customer\":\"c\",\"currency\":\"EUR\",\"lines\":[{\"sku\":\"a\",\"quantity\":2,"
                                + "\"unitPrice\":1.5},{\"sku\":\"b\",\"quantity\":1,\"unitPrice\":3}]}",
                        "/total", "6.0"),
                Arguments.of("lambda-handler", "dev.thaw.examples.lambda.GreetingApiHandler::handleRequest", 256,
                        "{\"httpMethod\":\"GET\",\"path\":\"/greet\",\"queryStringParameters\":{\"name\":\"Ada\"}}",
                        "/statusCode", "200"),
                Arguments.of("spring-boot", "dev.thaw.examples.springboot.QuoteHandler::apply", 1024,
                        "{\"customer\":\"Ada\",\"lines\":[{\"sku\":\"PEN-BLK\",\"quantity\":2}]}",
                        "/customer", "Ada"));
    }

    /** Every example in every restore mode. */
    static Stream<Arguments> examplesByMode() {
        return examples().flatMap(a -> FunctionManifest.RESTORE_MODES.stream().map(mode -> {
            Object[] args = java.util.Arrays.copyOf(a.get(), a.get().length + 1);
            args[args.length - 1] = mode;
            return Arguments.of(args);
        }));
    }

    @ParameterizedTest(name = "{0} {6}")
    @MethodSource("examplesByMode")
    void bootedAndRestoredGiveTheSameAnswer(String example, String handler, int memoryMb, String input, String pointer,
                                            String expected, String mode) throws Exception {
        String name = example + "-" + mode;
        node.client.deploy(new FunctionManifest(name, handler, null, memoryMb, 60_000, Map.of(), 4, true, mode),
                TestNode.FUNCTIONS.resolve("thaw-examples-" + example + ".jar"));

        InvocationResult booted = node.primeSnapshot(name, input);
        InvocationResult restored = node.invoke(name, input);
        if (mode.equals("reap")) {
            node.awaitLog(name, "WORKING_SET recorded");
        }
        node.client.evict(name);
        InvocationResult again = node.invoke(name, input);

        JsonNode answer = Json.mapper().readTree(booted.body());
        assertThat(answer.at(pointer).asText()).isEqualTo(expected);
        for (InvocationResult r : java.util.List.of(restored, again)) {
            assertThat(r.startKind()).isEqualTo(StartKind.RESTORE);
            assertThat(r.thawHeader("Restore-Mode")).contains(mode);
            assertThat(comparable(example, r)).isEqualTo(comparable(example, booted));
        }
        if (mode.equals("reap")) {
            assertThat(Long.parseLong(again.thawHeader("Pages-Up-Front").orElseThrow())).isPositive();
        }
        node.client.delete(name);
    }


    /** The Lambda example echoes the request id, which differs per invocation by design. */
    private static JsonNode comparable(String name, InvocationResult r) throws Exception {
        JsonNode n = Json.mapper().readTree(r.body());
        if (name.equals("lambda-handler")) {
            JsonNode body = Json.mapper().readTree(n.get("body").asText());
            return ((com.fasterxml.jackson.databind.node.ObjectNode) body).without("requestId");
        }
        return n;
    }
}
