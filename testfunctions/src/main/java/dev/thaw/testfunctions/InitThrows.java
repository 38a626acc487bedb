package dev.thaw.testfunctions;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;

/** Fails during init: the constructor throws, so every invocation is a {@code FunctionInitError}. Handler {@code InitThrows::handle}. */
public class InitThrows implements Handler<Object, Object> {

    /** Always throws. */
    public InitThrows() {
        throw new IllegalStateException("init failed on purpose");
    }

    @Override
    public Object handle(Object input, InvocationContext context) {
        return input;
    }
}
