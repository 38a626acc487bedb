package dev.thaw.testfunctions;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;

/** Throws {@code IllegalArgumentException("bad input: " + input)} on every call. Handler {@code HandlerThrows::handle}. */
public class HandlerThrows implements Handler<Object, Object> {

    /** Creates the handler. */
    public HandlerThrows() {
    }

    @Override
    public Object handle(Object input, InvocationContext context) {
        throw new IllegalArgumentException("bad input: " + input);
    }
}
