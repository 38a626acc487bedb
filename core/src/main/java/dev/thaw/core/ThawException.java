package dev.thaw.core;

import java.util.Objects;

/**
 * The root of thaw's unchecked exception hierarchy. Each exception names the {@link ErrorType} a
 * user sees, and its message says what was wrong in words that user understands (it is sent over
 * the wire as {@code errorMessage}). Messages never contain secrets such as environment values.
 */
public class ThawException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorType type;

    /**
     * @param type the user-visible error type
     * @param message what was wrong
     */
    public ThawException(ErrorType type, String message) {
        this(type, message, null);
    }

    /**
     * @param type the user-visible error type
     * @param message what was wrong
     * @param cause the underlying failure, or {@code null}
     */
    public ThawException(ErrorType type, String message, Throwable cause) {
        super(message, cause);
        this.type = Objects.requireNonNull(type, "type");
    }

    /** @return the user-visible error type */
    public ErrorType type() {
        return type;
    }

    /** Builds an {@link ErrorType#InvalidRequest} with a formatted message. */
    public static ThawException invalidRequest(String format, Object... args) {
        return new ThawException(ErrorType.InvalidRequest, String.format(format, args));
    }

    /** Builds an {@link ErrorType#InvalidDeployment} with a formatted message. */
    public static ThawException invalidDeployment(String format, Object... args) {
        return new ThawException(ErrorType.InvalidDeployment, String.format(format, args));
    }

    /** Builds a {@link ErrorType#FunctionNotFound} for {@code name}. */
    public static ThawException functionNotFound(String name) {
        return new ThawException(ErrorType.FunctionNotFound, "no function named '" + name + "' is deployed");
    }
}
