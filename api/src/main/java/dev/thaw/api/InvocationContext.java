package dev.thaw.api;

import java.time.Duration;

/**
 * Facts about the current invocation and the function, mirroring the getters of AWS Lambda's
 * {@code Context} so code moves between the two without change. The runtime's single context
 * object implements both this interface and Lambda's.
 */
public interface InvocationContext {

    /** @return the id of this invocation, unique per request */
    String getAwsRequestId();

    /** @return the deployed function's name */
    String getFunctionName();

    /** @return the deployed version, a number that grows with every deploy */
    String getFunctionVersion();

    /** @return a Lambda-style ARN naming the function on this node */
    String getInvokedFunctionArn();

    /** @return milliseconds left before the node times this invocation out */
    int getRemainingTimeInMillis();

    /** @return the memory limit of the instance in MB */
    int getMemoryLimitInMB();

    /** @return the time left, as a {@link Duration} */
    default Duration remainingTime() {
        return Duration.ofMillis(getRemainingTimeInMillis());
    }

    /** @return where the function writes log lines; they reach {@code thaw logs NAME} */
    FunctionLogger logger();
}
