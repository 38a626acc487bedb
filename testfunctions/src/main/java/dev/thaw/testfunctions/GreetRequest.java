package dev.thaw.testfunctions;

/**
 * {@link Greeter}'s input: checks the runtime maps JSON to a record.
 *
 * @param name who to greet
 * @param times how many greetings
 */
public record GreetRequest(String name, int times) {
}
