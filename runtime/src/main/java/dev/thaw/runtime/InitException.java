package dev.thaw.runtime;

/**
 * A function failed to initialize. {@link #errorType()} is what the caller sees as the function's
 * error type: the class of the exception the function's init threw, or a runtime error type such as
 * {@code Runtime.HandlerNotFound} when the handler could not be found.
 */
final class InitException extends Exception {
    private static final long serialVersionUID = 1L;
    private final String errorType;

    InitException(String errorType, String message, Throwable cause) {
        super(message, cause);
        this.errorType = errorType;
    }

    String errorType() {
        return errorType;
    }
}
