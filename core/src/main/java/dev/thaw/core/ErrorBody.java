package dev.thaw.core;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * The JSON body of every error answer of the node.
 *
 * @param errorType the {@link ErrorType} name
 * @param errorMessage what was wrong
 * @param functionErrorType for function errors: the function's own error type (exception class)
 * @param stackTrace for function errors: the function's stack trace lines
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record ErrorBody(String errorType, String errorMessage, String functionErrorType, List<String> stackTrace) {

    /** @return the body describing {@code e} */
    public static ErrorBody of(ThawException e) {
        if (e instanceof FunctionErrorException f) {
            return new ErrorBody(e.type().name(), e.getMessage(), f.functionErrorType(), f.functionStackTrace());
        }
        return new ErrorBody(e.type().name(), e.getMessage(), null, List.of());
    }

    /**
     * @return the exception an error answer of a node describes: its body parsed, or, for a body
     *     that is not one, an {@code InternalError} naming the status
     */
    public static ThawException parse(int status, byte[] body) {
        try {
            return Json.mapper().readValue(body, ErrorBody.class).toException();
        } catch (java.io.IOException | RuntimeException e) {
            return new ThawException(ErrorType.InternalError, "the node answered HTTP " + status + " with a body that is"
                    + " not an error body");
        }
    }

    /** @return the exception this body describes, for clients */
    public ThawException toException() {
        ErrorType type;
        try {
            type = ErrorType.valueOf(errorType);
        } catch (IllegalArgumentException | NullPointerException e) {
            type = ErrorType.InternalError;
        }
        if (functionErrorType != null) {
            return new FunctionErrorException(type, functionErrorType, errorMessage,
                    stackTrace == null ? List.of() : stackTrace);
        }
        return new ThawException(type, errorMessage);
    }
}
