package dev.thaw.api;

/** Writes lines to the function's log, which the node keeps per function ({@code thaw logs NAME}). */
@FunctionalInterface
public interface FunctionLogger {

    /**
     * Writes one message; a message without a trailing newline gets one.
     *
     * @param message the text to log
     */
    void log(String message);
}
