package dev.thaw.testfunctions;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.util.Map;

/** Sleeps {@code input.ms} milliseconds, then returns {@code {"slept": ms}}: for timeouts and concurrency. Handler {@code Sleeper::handle}. */
public class Sleeper implements Handler<Map<String, Object>, Map<String, Object>> {

    /** Creates the handler. */
    public Sleeper() {
    }

    @Override
    public Map<String, Object> handle(Map<String, Object> input, InvocationContext context) throws InterruptedException {
        if (input == null || !(input.get("ms") instanceof Number ms)) {
            throw new IllegalArgumentException("expected {\"ms\": <number>}, got " + input);
        }
        Thread.sleep(ms.longValue());
        return Map.of("slept", ms.longValue());
    }
}
