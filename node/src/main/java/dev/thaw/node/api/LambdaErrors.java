package dev.thaw.node.api;

import dev.thaw.core.ErrorType;
import dev.thaw.core.FunctionErrorException;
import dev.thaw.core.Json;
import dev.thaw.core.ThawException;
import io.helidon.webserver.http.ServerResponse;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * How Lambda answers failures, for its invoke path and for the errors a queued event records.
 *
 * <p>A failure of the function's own run (its handler threw, its init failed, it timed out, its
 * process died or ran out of memory) is not an error of the Invoke call: Lambda answers {@code 200}
 * with {@code X-Amz-Function-Error: Unhandled} and the body {@code {"errorMessage","errorType","stackTrace"}}
 * ({@link #functionFailure}). The platform-detected ones get Lambda's types: {@code Sandbox.Timedout},
 * {@code Runtime.ExitError}, {@code Runtime.OutOfMemory}. Answering them with a 5xx would make AWS
 * clients retry: one {@code aws lambda invoke} of a function that timed out ran it five times.
 *
 * <p>Errors of the platform use AWS's error shape ({@link #send}): the status Lambda uses, the error code
 * in {@code x-amzn-ErrorType}, and the body {@code {"Type","message","Message"}} (both spellings: the
 * Lambda model names the field {@code message} for some codes and {@code Message} for others; the AWS
 * CLI prints whichever it finds). The codes and statuses are those of botocore's Lambda model
 * ({@code ResourceNotFoundException} 404, {@code InvalidParameterValueException} and
 * {@code InvalidRequestContentException} 400, {@code RequestTooLargeException} 413,
 * {@code TooManyRequestsException} 429, {@code ServiceException} 500), except that a node shutting down
 * answers {@code ResourceNotReadyException} with {@code 503} rather than the model's 502: AWS clients
 * pick the exception by its code, and 503 is what HTTP clients and load balancers take for "not now".
 * Refused access uses AWS's codes too: {@code InvalidSignatureException}, {@code UnrecognizedClientException}
 * and {@code IncompleteSignatureException} (403) for a signature that does not verify, and
 * {@code MissingAuthenticationTokenException} for a request without credentials, answered 401 as every
 * other route of the node answers it.
 */
public final class LambdaErrors {

    private LambdaErrors() {
    }

    /**
     * A failure of the function's own run, as Lambda's body names it.
     *
     * @param errorType the function's exception class, or Lambda's type for what the platform detected
     * @param errorMessage the function's message, or Lambda's wording
     * @param stackTrace the function's stack trace lines, possibly empty
     */
    public record FunctionFailure(String errorType, String errorMessage, List<String> stackTrace) {
        /** @return Lambda's body: {@code {"errorMessage","errorType","stackTrace"}} */
        Map<String, Object> body() {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("errorMessage", errorMessage);
            body.put("errorType", errorType);
            body.put("stackTrace", stackTrace);
            return body;
        }
    }

    /** An error whose AWS code and status the route chose (where the {@link ErrorType} alone says less). */
    static final class Coded extends ThawException {
        private static final long serialVersionUID = 1L;
        final String code;
        final int status;

        Coded(ErrorType type, String code, int status, String message) {
            super(type, message);
            this.code = code;
            this.status = status;
        }
    }

    /** @return a 400 {@code InvalidParameterValueException} (thaw's {@code InvalidRequest}) */
    static ThawException invalidParameter(String format, Object... args) {
        return new Coded(ErrorType.InvalidRequest, "InvalidParameterValueException", 400, String.format(format, args));
    }

    /** @return a 400 {@code InvalidRequestContentException} (thaw's {@code InvalidRequest}): the body is not valid */
    static ThawException invalidContent(String format, Object... args) {
        return new Coded(ErrorType.InvalidRequest, "InvalidRequestContentException", 400, String.format(format, args));
    }

    /** @return a 409 {@code ResourceConflictException} (thaw's {@code InvalidRequest}) */
    static ThawException conflict(String format, Object... args) {
        return new Coded(ErrorType.InvalidRequest, "ResourceConflictException", 409, String.format(format, args));
    }

    /**
     * @param e how the invocation failed
     * @param requestId its request id (Lambda's platform messages start with it)
     * @param timeoutMs the timeout of the version that ran it, for a timeout's message
     * @return Lambda's description when {@code e} is a failure of the function's run; empty for an error of
     *     the platform
     */
    public static Optional<FunctionFailure> functionFailure(ThawException e, String requestId, int timeoutMs) {
        if (e instanceof FunctionErrorException f) {
            return Optional.of(new FunctionFailure(f.functionErrorType(), f.functionErrorMessage(), f.functionStackTrace()));
        }
        String prefix = "RequestId: " + requestId + " Error: ";
        return switch (e.type()) {
            case FunctionTimeout -> Optional.of(new FunctionFailure("Sandbox.Timedout", prefix + (timeoutMs > 0
                    ? String.format(Locale.ROOT, "Task timed out after %.2f seconds", timeoutMs / 1000.0)
                    : e.getMessage()), List.of()));
            case InstanceCrashed, FunctionInitError -> Optional.of(new FunctionFailure("Runtime.ExitError",
                    prefix + e.getMessage(), List.of()));
            case OutOfMemory -> Optional.of(new FunctionFailure("Runtime.OutOfMemory", prefix + e.getMessage(), List.of()));
            case FunctionError -> Optional.of(new FunctionFailure("Runtime.Unknown", prefix + e.getMessage(), List.of()));
            default -> Optional.empty();
        };
    }

    /** An AWS error code and the status it is answered with. */
    record Code(String code, int status) {
    }

    /** @return the AWS error code and status of a platform error */
    static Code code(ThawException e) {
        if (e instanceof Coded c) {
            return new Code(c.code, c.status);
        }
        return switch (e.type()) {
            case InvalidRequest, InvalidDeployment -> new Code("InvalidParameterValueException", 400);
            case FunctionNotFound -> new Code("ResourceNotFoundException", 404);
            case PayloadTooLarge -> new Code("RequestTooLargeException", 413);
            case TooManyRequests -> new Code("TooManyRequestsException", 429);
            case ServiceUnavailable -> new Code("ResourceNotReadyException", 503);
            case Unauthorized -> new Code("MissingAuthenticationTokenException", 401);
            case Forbidden -> new Code("AccessDeniedException", 403);
            default -> new Code("ServiceException", 500);
        };
    }

    /** Answers a platform error in AWS's shape. */
    static void send(ServerResponse res, ThawException e, String requestId) {
        if (res.isSent()) {
            return;
        }
        Code c = code(e);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("Type", c.status() < 500 ? "User" : "Service");
        body.put("message", e.getMessage());
        body.put("Message", e.getMessage());
        if (c.code().equals("TooManyRequestsException")) {
            body.put("Reason", "ReservedFunctionConcurrentInvocationLimitExceeded");
        }
        res.status(c.status())
                .header("x-amzn-ErrorType", c.code())
                .header("x-amzn-RequestId", requestId)
                .header("X-Thaw-Error-Type", e.type().name())
                .header("Content-Type", "application/json")
                .send(Json.write(body));
    }
}
