package dev.thaw.client;

import dev.thaw.core.ErrorBody;
import dev.thaw.core.ErrorType;
import dev.thaw.core.Json;
import dev.thaw.core.ThawException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** Turns error answers of the node into exceptions. */
final class ErrorAnswers {

    private ErrorAnswers() {
    }

    /**
     * @return the exception the node's {@link ErrorBody} describes, or, when the body is not one (a
     *     proxy's error page, say), an exception typed after the HTTP status
     */
    static ThawException toException(int status, byte[] body) {
        return toException(status, null, body);
    }

    /**
     * @param thawErrorType the answer's {@code X-Thaw-Error-Type}, or {@code null}: on Lambda's paths the
     *     body has AWS's shape ({@code {"Type","message"}}) and this header names thaw's error type
     * @return the exception the answer describes
     */
    static ThawException toException(int status, String thawErrorType, byte[] body) {
        ErrorBody error = parse(body);
        if (error != null && error.errorType() != null) {
            return error.toException();
        }
        if (thawErrorType != null) {
            String message = awsMessage(body);
            if (message != null) {
                try {
                    return new ThawException(ErrorType.valueOf(thawErrorType), message);
                } catch (IllegalArgumentException e) {
                    return new ThawException(typeFor(status), message);
                }
            }
        }
        String text = new String(body, StandardCharsets.UTF_8).strip();
        String message = "HTTP " + status + (text.isEmpty() ? "" : ": " + Json.firstLine(text));
        return new ThawException(typeFor(status), message);
    }

    /** @return the message of an AWS-shaped error body ({@code message} or {@code Message}), or null */
    private static String awsMessage(byte[] body) {
        try {
            var tree = Json.mapper().readTree(body);
            var m = tree.hasNonNull("message") ? tree.get("message") : tree.get("Message");
            return m == null ? null : m.asText();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static ErrorBody parse(byte[] body) {
        if (body.length == 0) {
            return null;
        }
        try {
            return Json.mapper().readValue(body, ErrorBody.class);
        } catch (IOException e) {
            return null;
        }
    }

    static ErrorType typeFor(int status) {
        for (ErrorType type : ErrorType.values()) {
            if (type.httpStatus() == status) {
                return type;
            }
        }
        return status < 500 ? ErrorType.InvalidRequest : ErrorType.InternalError;
    }
}
