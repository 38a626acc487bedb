package dev.thaw.testfunctions;

import dev.thaw.api.Freshen;
import dev.thaw.api.FreshenContext;
import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A handler with a freshen hook, for the tests of work ahead of demand. The hook counts its calls and
 * keeps the last reason; the environment variable {@code FRESHEN_MODE} makes it misbehave:
 * {@code throw} (it throws) or {@code sleep} (it runs 5 s, past any time limit). The handler answers
 * {@code {"freshened": calls, "reason": last reason, "echo": input}} after sleeping {@code input.ms}.
 * Handler {@code Freshened::handle}.
 */
public class Freshened implements Handler<Map<String, Object>, Map<String, Object>>, Freshen {
    private static final AtomicInteger CALLS = new AtomicInteger();
    private static volatile String lastReason = "";

    /** Creates the handler. */
    public Freshened() {
    }

    @Override
    public void freshen(FreshenContext context) throws Exception {
        String mode = System.getenv().getOrDefault("FRESHEN_MODE", "ok");
        if (mode.equals("throw")) {
            throw new IllegalStateException("freshen failed on purpose");
        }
        if (mode.equals("sleep")) {
            Thread.sleep(5_000);
        }
        CALLS.incrementAndGet();
        lastReason = context.reason();
    }

    @Override
    public Map<String, Object> handle(Map<String, Object> input, InvocationContext context) throws InterruptedException {
        if (input != null && input.get("ms") instanceof Number ms) {
            Thread.sleep(ms.longValue());
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("freshened", CALLS.get());
        out.put("reason", lastReason);
        out.put("echo", input);
        return out;
    }
}
