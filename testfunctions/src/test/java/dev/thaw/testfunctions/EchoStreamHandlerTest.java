package dev.thaw.testfunctions;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class EchoStreamHandlerTest {

    @Test
    void splicesTheRawInputIn() throws Exception {
        assertThat(run("{\"a\": [1, 2]}", "echo")).isEqualTo("{\"shape\":\"stream\",\"echo\":{\"a\": [1, 2]},\"functionName\":\"echo\"}");
        assertThat(run("", "echo")).isEqualTo("{\"shape\":\"stream\",\"echo\":null,\"functionName\":\"echo\"}");
    }

    @Test
    void escapesTheFunctionName() {
        assertThat(EchoStreamHandler.jsonString("a\"b\\c\n")).isEqualTo("\"a\\\"b\\\\c\\u000a\"");
    }

    private static String run(String input, String functionName) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new EchoStreamHandler().handleRequest(new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)), out,
                new FakeLambdaContext(functionName, 128));
        return out.toString(StandardCharsets.UTF_8);
    }
}
