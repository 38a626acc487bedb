package dev.thaw.testfunctions;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/** Counts its invocations in this JVM: returns {@code {"invocations": n}}. Handler {@code Counter::handle}. */
public class Counter implements Handler<Object, Map<String, Integer>> {
    private static final AtomicInteger INVOCATIONS = new AtomicInteger();

    /** Creates the handler. */
    public Counter() {
    }

    @Override
    public Map<String, Integer> handle(Object input, InvocationContext context) {
        return Map.of("invocations", INVOCATIONS.incrementAndGet());
    }
}
