package dev.thaw.testfunctions;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.util.Collections;

/**
 * Records in and out: {@code {"name":"Ada","times":2}} gives {@code {"message":"Hi Ada Hi Ada"}}.
 * Handler {@code Greeter::handle}.
 */
public class Greeter implements Handler<GreetRequest, GreetResponse> {

    /** Creates the handler. */
    public Greeter() {
    }

    @Override
    public GreetResponse handle(GreetRequest input, InvocationContext context) {
        if (input.times() < 0) {
            throw new IllegalArgumentException("times must not be negative: " + input.times());
        }
        return new GreetResponse(String.join(" ", Collections.nCopies(input.times(), "Hi " + input.name())));
    }
}
