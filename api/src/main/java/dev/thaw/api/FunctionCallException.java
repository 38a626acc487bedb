package dev.thaw.api;

/**
 * A call of another function ({@link Functions}) that did not give a result: refused by the node
 * or failed in the function. {@link #errorType()} is the node's error type, as its invoke API
 * names it ({@code AccessDeniedException} when the deployment does not name the callee in
 * {@code mayInvoke}, {@code FunctionNotFound}, {@code TooManyRequests}, {@code FunctionError},
 * {@code FunctionTimeout}, ..., or {@code Unavailable} when the node could not be reached) and
 * {@link #status()} its HTTP status; the message is the node's.
 */
public class FunctionCallException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /** The error type of a call that never got an answer from the node. */
    public static final String UNAVAILABLE = "Unavailable";

    private final int status;
    private final String errorType;

    /**
     * @param status the node's HTTP status, 0 when it gave none
     * @param errorType the node's error type
     * @param message what happened, in words
     * @param cause what caused it, or null
     */
    public FunctionCallException(int status, String errorType, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.errorType = java.util.Objects.requireNonNull(errorType, "errorType");
    }

    /** @return the node's HTTP status (4xx refusals, 5xx failures), 0 when the node gave no answer */
    public int status() {
        return status;
    }

    /** @return the node's error type, e.g. {@code AccessDeniedException} or {@code FunctionError} */
    public String errorType() {
        return errorType;
    }
}
