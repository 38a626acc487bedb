package dev.thaw.node.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.core.ErrorType;
import dev.thaw.core.FunctionErrorException;
import dev.thaw.core.ThawException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How failures are named on Lambda's paths. */
class LambdaErrorsTest {

    @Test
    void failuresOfTheFunctionsRunGetLambdasTypes() {
        var thrown = LambdaErrors.functionFailure(new FunctionErrorException(ErrorType.FunctionError,
                "java.lang.IllegalStateException", "function 'f' failed: java.lang.IllegalStateException: no", "no",
                List.of("at a.B.c(B.java:1)")), "r1", 3000).orElseThrow();
        assertThat(thrown).isEqualTo(new LambdaErrors.FunctionFailure("java.lang.IllegalStateException", "no",
                List.of("at a.B.c(B.java:1)")));

        assertThat(LambdaErrors.functionFailure(new ThawException(ErrorType.FunctionTimeout, "x"), "r2", 2500))
                .hasValue(new LambdaErrors.FunctionFailure("Sandbox.Timedout",
                        "RequestId: r2 Error: Task timed out after 2.50 seconds", List.of()));
        assertThat(LambdaErrors.functionFailure(new ThawException(ErrorType.InstanceCrashed, "exited with code 3"), "r3", 1))
                .hasValueSatisfying(f -> {
                    assertThat(f.errorType()).isEqualTo("Runtime.ExitError");
                    assertThat(f.errorMessage()).isEqualTo("RequestId: r3 Error: exited with code 3");
                });
        assertThat(LambdaErrors.functionFailure(new ThawException(ErrorType.OutOfMemory, "passed 256 MB"), "r4", 1))
                .hasValueSatisfying(f -> assertThat(f.errorType()).isEqualTo("Runtime.OutOfMemory"));
        assertThat(LambdaErrors.functionFailure(new ThawException(ErrorType.FunctionInitError, "exited during init"), "r5", 1))
                .hasValueSatisfying(f -> assertThat(f.errorType()).isEqualTo("Runtime.ExitError"));
    }

    @Test
    void errorsOfThePlatformAreNoFunctionFailureAndGetAwsCodes() {
        for (ErrorType t : List.of(ErrorType.InvalidRequest, ErrorType.FunctionNotFound, ErrorType.PayloadTooLarge,
                ErrorType.TooManyRequests, ErrorType.ServiceUnavailable, ErrorType.InternalError)) {
            assertThat(LambdaErrors.functionFailure(new ThawException(t, "m"), "r", 1)).as(t.name()).isEmpty();
        }
        assertThat(LambdaErrors.code(new ThawException(ErrorType.FunctionNotFound, "m")))
                .isEqualTo(new LambdaErrors.Code("ResourceNotFoundException", 404));
        assertThat(LambdaErrors.code(new ThawException(ErrorType.InvalidRequest, "m")))
                .isEqualTo(new LambdaErrors.Code("InvalidParameterValueException", 400));
        assertThat(LambdaErrors.code(new ThawException(ErrorType.PayloadTooLarge, "m")))
                .isEqualTo(new LambdaErrors.Code("RequestTooLargeException", 413));
        assertThat(LambdaErrors.code(new ThawException(ErrorType.TooManyRequests, "m")))
                .isEqualTo(new LambdaErrors.Code("TooManyRequestsException", 429));
        assertThat(LambdaErrors.code(new ThawException(ErrorType.ServiceUnavailable, "m")))
                .isEqualTo(new LambdaErrors.Code("ResourceNotReadyException", 503));
        assertThat(LambdaErrors.code(new ThawException(ErrorType.InternalError, "m")))
                .isEqualTo(new LambdaErrors.Code("ServiceException", 500));
        assertThat(LambdaErrors.code(LambdaErrors.invalidContent("bad %s", "json")))
                .isEqualTo(new LambdaErrors.Code("InvalidRequestContentException", 400));
        assertThat(LambdaErrors.code(LambdaErrors.conflict("exists")))
                .isEqualTo(new LambdaErrors.Code("ResourceConflictException", 409));
        assertThat(LambdaErrors.invalidParameter("x").type()).as("thaw's path sees a plain InvalidRequest")
                .isEqualTo(ErrorType.InvalidRequest);
    }
}
