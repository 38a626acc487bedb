package dev.thaw.core;

/**
 * The error types a user of thaw can see, each with the HTTP status the node answers with. Every
 * {@link ThawException} carries one; the wire form is {@code {"errorType": name(), "errorMessage": ...}}.
 */
public enum ErrorType {
    /** The request itself is malformed: bad JSON, a missing field, a value out of range. */
    InvalidRequest(400),
    /** The request carries no credentials, or wrong ones. */
    Unauthorized(401),
    /** The request is refused: addressed to another host, cross-origin, or a signature that does not verify. */
    Forbidden(403),
    /** The deployment cannot run: not a JAR, no such handler class, a bad manifest. */
    InvalidDeployment(400),
    /** No function of that name is deployed. */
    FunctionNotFound(404),
    /** The payload exceeds the node's limit. */
    PayloadTooLarge(413),
    /** All instances are busy and the function's queue is full. */
    TooManyRequests(429),
    /** The function's handler threw. */
    FunctionError(502),
    /** The function's init (class loading, constructor, static initializers) failed. */
    FunctionInitError(502),
    /** The instance process died while serving the invocation. */
    InstanceCrashed(502),
    /** The instance passed its memory limit while serving the invocation and was stopped. */
    OutOfMemory(502),
    /**
     * The cluster node the invocation was forwarded to was lost (killed, or unreachable) before it
     * answered; the invocation may have run there.
     */
    NodeLost(502),
    /** The invocation ran longer than the function's timeout; its instance was killed. */
    FunctionTimeout(504),
    /** The node is shutting down or cannot start instances. */
    ServiceUnavailable(503),
    /** A bug or an unexpected failure inside the node. */
    InternalError(500);

    private final int httpStatus;

    ErrorType(int httpStatus) {
        this.httpStatus = httpStatus;
    }

    /** @return the HTTP status the node answers with for this error type */
    public int httpStatus() {
        return httpStatus;
    }
}
