package dev.thaw.testfunctions;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.util.Map;

/**
 * Prints {@code printer MARKER begins}, sleeps {@code input.ms} milliseconds (0 by default), prints
 * {@code printer MARKER ends} right before it returns {@code {"marker": MARKER}}: for log tails, whose
 * lines must be the invocation's own and include what it printed just before answering. With
 * {@code "blank": true} it prints an empty line before the last one. Handler
 * {@code Printer::handle}.
 */
public class Printer implements Handler<Map<String, Object>, Map<String, Object>> {

    /** Creates the handler. */
    public Printer() {
    }

    @Override
    public Map<String, Object> handle(Map<String, Object> input, InvocationContext context) throws InterruptedException {
        String marker = input == null ? "none" : String.valueOf(input.getOrDefault("marker", "none"));
        System.out.println("printer " + marker + " begins");
        if (input != null && input.get("ms") instanceof Number ms) {
            Thread.sleep(ms.longValue());
        }
        if (input != null && Boolean.TRUE.equals(input.get("blank"))) {
            System.out.println(); // a blank line of the function's own, which its log keeps
        }
        System.out.println("printer " + marker + " ends");
        return Map.of("marker", marker);
    }
}
