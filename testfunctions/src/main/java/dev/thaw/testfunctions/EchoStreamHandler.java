package dev.thaw.testfunctions;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * AWS Lambda's {@code RequestStreamHandler} shape: writes {@code {"shape":"stream","echo":<input bytes>,"functionName":..}},
 * splicing the raw input in unparsed (an empty input becomes {@code null}). Handler {@code EchoStreamHandler::handleRequest}.
 */
public class EchoStreamHandler implements RequestStreamHandler {

    /** Creates the handler. */
    public EchoStreamHandler() {
    }

    @Override
    public void handleRequest(InputStream input, OutputStream output, Context context) throws IOException {
        byte[] event = input.readAllBytes();
        // No JSON library on purpose: this fixture checks the runtime passes the bytes through untouched.
        boolean empty = new String(event, StandardCharsets.UTF_8).isBlank();
        output.write("{\"shape\":\"stream\",\"echo\":".getBytes(StandardCharsets.UTF_8));
        output.write(empty ? "null".getBytes(StandardCharsets.UTF_8) : event);
        output.write((",\"functionName\":" + jsonString(context.getFunctionName()) + "}").getBytes(StandardCharsets.UTF_8));
        output.flush();
    }

    /** Quotes a string as JSON, escaping what JSON requires. */
    static String jsonString(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
