package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.client.InvocationResult;
import dev.thaw.core.StartKind;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every handler shape gives the same answers booted, restored from a snapshot, and warm. */
class HandlerShapesIT extends WithSnapshotNode {

    static Stream<Arguments> shapes() {
        return Stream.of(
                Arguments.of("thaw-handler", "EchoThaw::handle", "{\"a\":1}",
                        "{\"shape\":\"thaw\",\"echo\":{\"a\":1},\"functionName\":\"thaw-handler\"}"),
                Arguments.of("lambda-request-handler", "EchoRequestHandler::handleRequest", "{\"a\":[1,2]}",
                        "{\"shape\":\"lambda\",\"echo\":{\"a\":[1,2]},\"functionName\":\"lambda-request-handler\"}"),
                Arguments.of("lambda-stream-handler", "EchoStreamHandler::handleRequest", "{\"s\":\"x\"}",
                        "{\"shape\":\"stream\",\"echo\":{\"s\":\"x\"},\"functionName\":\"lambda-stream-handler\"}"),
                Arguments.of("java-function", "EchoFunction::apply", "{\"n\":null}",
                        "{\"shape\":\"function\",\"echo\":{\"n\":null}}"),
                Arguments.of("typed-records", "Greeter::handle", "{\"name\":\"Ada\",\"times\":2}",
                        "{\"message\":\"Hi Ada Hi Ada\"}"),
                Arguments.of("plain-method", "PlainMethods::upper", "\"shout\"", "\"SHOUT\""),
                Arguments.of("plain-method-context", "PlainMethods::describe", "{\"b\":1,\"a\":2}",
                        "{\"keys\":[\"a\",\"b\"],\"memory\":256}"),
                Arguments.of("class-only-handler", "EchoFunction", "{}", "{\"shape\":\"function\",\"echo\":{}}"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void sameAnswerBootedRestoredAndWarm(String name, String handler, String input, String expected) {
        node.deploy(name, TestNode.TF + handler);

        InvocationResult booted = node.primeSnapshot(name, input);
        InvocationResult restored = node.invoke(name, input);
        InvocationResult warm = node.invoke(name, input);

        assertThat(booted.bodyAsString()).isEqualTo(expected);
        assertThat(restored.startKind()).isEqualTo(StartKind.RESTORE);
        assertThat(restored.restoreMs()).isPresent();
        assertThat(restored.bodyAsString()).isEqualTo(expected);
        assertThat(warm.startKind()).isEqualTo(StartKind.WARM);
        assertThat(warm.bodyAsString()).isEqualTo(expected);
    }
}
