package dev.thaw.testfunctions;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;

/** Kills its own JVM with exit status 3 mid-invocation: the node must answer {@code InstanceCrashed}. Handler {@code Crasher::handle}. */
public class Crasher implements Handler<Object, Object> {

    /** Creates the handler. */
    public Crasher() {
    }

    @Override
    public Object handle(Object input, InvocationContext context) {
        // halt, not exit: no shutdown hooks, as close to a real crash as plain Java gets.
        Runtime.getRuntime().halt(3);
        return null;
    }
}
