package dev.thaw.testfunctions;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/** The {@code java.util.function.Function} shape: returns {@code {"shape":"function","echo":input}}. Handler {@code EchoFunction::apply}. */
public class EchoFunction implements Function<Map<String, Object>, Map<String, Object>> {

    /** Creates the handler. */
    public EchoFunction() {
    }

    @Override
    public Map<String, Object> apply(Map<String, Object> input) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("shape", "function");
        out.put("echo", input);
        return out;
    }
}
