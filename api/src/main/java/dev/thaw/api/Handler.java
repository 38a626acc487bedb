package dev.thaw.api;

/**
 * thaw's own handler shape: one method, JSON in and out.
 *
 * <p>The runtime reads the type arguments {@code I} and {@code O} of the implementing class to
 * deserialize the event and serialize the result with Jackson, exactly as it does for AWS Lambda's
 * {@code RequestHandler}. Implementations need a public no-argument constructor; the constructor
 * and static initializers run once per instance during init, before any snapshot is taken, so they
 * are the place for expensive set-up. They must not capture request data.
 *
 * @param <I> the event type
 * @param <O> the result type
 */
@FunctionalInterface
public interface Handler<I, O> {

    /**
     * Handles one invocation.
     *
     * @param input the deserialized event
     * @param context facts about this invocation and the function
     * @return the result, serialized to JSON by the runtime
     * @throws Exception any failure, reported to the caller as a function error naming its type
     */
    O handle(I input, InvocationContext context) throws Exception;
}
