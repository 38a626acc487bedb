package dev.thaw.testfunctions;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.util.LinkedHashMap;
import java.util.Map;

/** thaw's own shape: returns {@code {"shape":"thaw","echo":input,"functionName":..}}. Handler {@code EchoThaw::handle}. */
public class EchoThaw implements Handler<Map<String, Object>, Map<String, Object>> {

    /** Creates the handler. */
    public EchoThaw() {
    }

    @Override
    public Map<String, Object> handle(Map<String, Object> input, InvocationContext context) {
        // LinkedHashMap, not Map.of: the echo may be null (empty body) and key order helps reading logs.
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("shape", "thaw");
        out.put("echo", input);
        out.put("functionName", context.getFunctionName());
        return out;
    }
}
