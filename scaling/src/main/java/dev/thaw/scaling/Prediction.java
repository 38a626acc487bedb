package dev.thaw.scaling;

import java.time.Duration;

/**
 * A function expected to be invoked soon because another one was.
 *
 * @param from the function whose invocation predicts
 * @param to the function expected next
 * @param expectedDelay when {@code to} is expected, after {@code from} started: the median of the
 *     delays seen in {@code from}'s recent rounds, zero for a declared chain never seen yet
 * @param declared whether the chain was declared ({@code --next}) rather than learned
 * @param support in how many of the recent rounds {@code to} followed
 * @param rounds how many recent rounds were counted
 */
public record Prediction(String from, String to, Duration expectedDelay, boolean declared, int support, int rounds) {

    /** @return {@code support / rounds}: 1 for a declared chain with no rounds */
    public double confidence() {
        return rounds == 0 ? (declared ? 1 : 0) : (double) support / rounds;
    }
}
