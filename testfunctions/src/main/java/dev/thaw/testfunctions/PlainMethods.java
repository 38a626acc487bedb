package dev.thaw.testfunctions;

import com.amazonaws.services.lambda.runtime.Context;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;

/** Plain public methods, no interface: handlers {@code PlainMethods::upper} and {@code PlainMethods::describe}. */
public class PlainMethods {

    /** Creates the handler. */
    public PlainMethods() {
    }

    /**
     * A one-argument method with a JSON string in and out.
     *
     * @param s the event, a JSON string
     * @return it in upper case
     */
    public String upper(String s) {
        return s == null ? null : s.toUpperCase(java.util.Locale.ROOT);
    }

    /**
     * A two-argument method taking Lambda's context.
     *
     * @param in the event, a JSON object
     * @param ctx the invocation context
     * @return {@code {"keys": sorted keys of in, "memory": the memory limit in MB}}
     */
    public Map<String, Object> describe(Map<String, Object> in, Context ctx) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("keys", in == null ? java.util.List.of() : java.util.List.copyOf(new TreeSet<>(in.keySet())));
        out.put("memory", ctx.getMemoryLimitInMB());
        return out;
    }
}
