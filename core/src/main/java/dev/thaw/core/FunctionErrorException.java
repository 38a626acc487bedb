package dev.thaw.core;

/**
 * A failure reported by the function itself (its handler or its init threw), as opposed to one of
 * the platform. Carries the function's own error type (usually the exception's class name) and
 * stack trace lines, which the node passes on to the caller.
 */
public final class FunctionErrorException extends ThawException {
    private static final long serialVersionUID = 1L;

    private final String functionErrorType;
    private final String functionErrorMessage;
    private final java.util.List<String> stackTrace;

    /**
     * @param type {@link ErrorType#FunctionError} or {@link ErrorType#FunctionInitError}
     * @param functionErrorType the function's own error type, e.g. {@code java.lang.IllegalStateException}
     * @param message the function's error message
     * @param stackTrace the function's stack trace lines, possibly empty
     */
    public FunctionErrorException(ErrorType type, String functionErrorType, String message,
                                  java.util.List<String> stackTrace) {
        this(type, functionErrorType, message, message, stackTrace);
    }

    /**
     * @param type {@link ErrorType#FunctionError} or {@link ErrorType#FunctionInitError}
     * @param functionErrorType the function's own error type, e.g. {@code java.lang.IllegalStateException}
     * @param message what went wrong, as thaw says it (naming the function)
     * @param functionErrorMessage the function's own error message, as its code gave it
     * @param stackTrace the function's stack trace lines, possibly empty
     */
    public FunctionErrorException(ErrorType type, String functionErrorType, String message, String functionErrorMessage,
                                  java.util.List<String> stackTrace) {
        super(type, message);
        this.functionErrorType = functionErrorType;
        this.functionErrorMessage = functionErrorMessage;
        this.stackTrace = java.util.List.copyOf(stackTrace);
    }

    /** @return the function's own error message (Lambda's {@code errorMessage}); thaw's message when unknown */
    public String functionErrorMessage() {
        return functionErrorMessage;
    }

    /** @return the function's own error type */
    public String functionErrorType() {
        return functionErrorType;
    }

    /** @return the function's stack trace lines */
    public java.util.List<String> functionStackTrace() {
        return stackTrace;
    }
}
