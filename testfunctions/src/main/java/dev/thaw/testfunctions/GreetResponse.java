package dev.thaw.testfunctions;

/**
 * {@link Greeter}'s output.
 *
 * @param message the greetings, space-separated
 */
public record GreetResponse(String message) {
}
