package dev.thaw.testfunctions;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.util.Map;

/** Returns a JSON string of {@code input.chars} 'x' characters: for large responses. Handler {@code Big::handle}. */
public class Big implements Handler<Map<String, Object>, String> {

    /** Creates the handler. */
    public Big() {
    }

    @Override
    public String handle(Map<String, Object> input, InvocationContext context) {
        if (input == null || !(input.get("chars") instanceof Number chars)) {
            throw new IllegalArgumentException("expected {\"chars\": <number>}, got " + input);
        }
        return "x".repeat(chars.intValue());
    }
}
