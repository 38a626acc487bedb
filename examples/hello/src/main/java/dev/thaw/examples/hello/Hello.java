package dev.thaw.examples.hello;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.util.Map;

/**
 * Greets the caller by name. Handler: {@code dev.thaw.examples.hello.Hello::handle}.
 *
 * <p>Input {@code {"name":"Ada"}} gives {@code {"message":"Hello, Ada!"}}; a missing, null or blank
 * name (or no input at all) gives {@code {"message":"Hello, world!"}}.
 */
public class Hello implements Handler<Map<String, Object>, Map<String, Object>> {

    /** Creates the handler; there is nothing to set up. */
    public Hello() {
    }

    @Override
    public Map<String, Object> handle(Map<String, Object> input, InvocationContext context) {
        return Map.of("message", "Hello, " + nameOf(input) + "!");
    }

    private static String nameOf(Map<String, Object> input) {
        // An empty invocation body arrives as null, so treat it like a missing name.
        Object name = input == null ? null : input.get("name");
        if (name == null || name.toString().isBlank()) {
            return "world";
        }
        return name.toString().strip();
    }
}
