package dev.thaw.testfunctions;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.crac.Context;
import org.crac.Core;
import org.crac.Resource;

/**
 * Records the order of CRaC hooks. The constructor adds {@code "init"} and registers resources A, B and C
 * in that order; their hooks add {@code "before:A"} and {@code "after:A"} and so on. CRaC calls
 * {@code beforeCheckpoint} in reverse registration order and {@code afterRestore} in registration order,
 * so a restored instance answers {@code ["init","before:C","before:B","before:A","after:A","after:B","after:C"]}.
 * Handler {@code Hooks::handle}; it returns a copy of {@link #EVENTS}. With {@code AFTER_RESTORE_SLEEP_MS}
 * set, C's {@code afterRestore} sleeps that long (a slow restore).
 */
public class Hooks implements Handler<Object, List<String>> {

    /** Every event so far in this JVM, oldest first. */
    public static final List<String> EVENTS = Collections.synchronizedList(new ArrayList<>());

    // Strong references: org.crac holds registered resources weakly.
    private final List<Resource> resources = List.of(new Named("A"), new Named("B"), new Named("C"));

    /** Records {@code "init"} and registers A, B and C. */
    public Hooks() {
        EVENTS.add("init");
        resources.forEach(Core.getGlobalContext()::register);
    }

    @Override
    public List<String> handle(Object input, InvocationContext context) {
        synchronized (EVENTS) {
            return List.copyOf(EVENTS);
        }
    }

    /** @return the registered resources A, B, C in registration order (for tests that call hooks directly) */
    List<Resource> resources() {
        return resources;
    }

    /** A resource that only records its hooks. */
    private static final class Named implements Resource {

        private final String name;

        Named(String name) {
            this.name = name;
        }

        @Override
        public void beforeCheckpoint(Context<? extends Resource> context) {
            EVENTS.add("before:" + name);
        }

        @Override
        public void afterRestore(Context<? extends Resource> context) throws InterruptedException {
            EVENTS.add("after:" + name);
            String sleep = System.getenv("AFTER_RESTORE_SLEEP_MS");
            if (sleep != null && name.equals("C")) {
                Thread.sleep(Long.parseLong(sleep)); // a slow restore, for tests that act while it runs
            }
        }
    }
}
