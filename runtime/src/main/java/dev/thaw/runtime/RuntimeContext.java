package dev.thaw.runtime;

import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.CognitoIdentity;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import dev.thaw.api.FunctionLogger;
import dev.thaw.api.InvocationContext;
import java.nio.charset.StandardCharsets;

/**
 * The context handed to a handler: one object implementing both AWS Lambda's {@link Context} and
 * thaw's {@link InvocationContext}, so either kind of handler gets what it expects.
 */
final class RuntimeContext implements Context, InvocationContext {
    private final RuntimeConfig config;
    private final String requestId;
    private final String invokedArn;
    private final long deadlineEpochMs;
    private final LambdaLogger logger = new StdoutLogger();

    RuntimeContext(RuntimeConfig config, String requestId, String invokedArn, long deadlineEpochMs) {
        this.config = config;
        this.requestId = requestId;
        this.invokedArn = invokedArn;
        this.deadlineEpochMs = deadlineEpochMs;
    }

    @Override
    public String getAwsRequestId() {
        return requestId;
    }

    @Override
    public String getLogGroupName() {
        return "/thaw/" + config.functionName();
    }

    @Override
    public String getLogStreamName() {
        return config.functionVersion();
    }

    @Override
    public String getFunctionName() {
        return config.functionName();
    }

    @Override
    public String getFunctionVersion() {
        return config.functionVersion();
    }

    @Override
    public String getInvokedFunctionArn() {
        return invokedArn;
    }

    @Override
    public CognitoIdentity getIdentity() {
        return null;
    }

    @Override
    public ClientContext getClientContext() {
        return null;
    }

    @Override
    public int getRemainingTimeInMillis() {
        return (int) Math.max(0, deadlineEpochMs - System.currentTimeMillis());
    }

    @Override
    public int getMemoryLimitInMB() {
        return config.memoryMb();
    }

    @Override
    public LambdaLogger getLogger() {
        return logger;
    }

    @Override
    public FunctionLogger logger() {
        return logger::log;
    }

    /** Log lines go to stdout, which the node collects into the function's log. */
    private static final class StdoutLogger implements LambdaLogger {
        @Override
        public void log(String message) {
            if (message.endsWith("\n")) {
                System.out.print(message);
            } else {
                System.out.println(message);
            }
            System.out.flush();
        }

        @Override
        public void log(byte[] message) {
            log(new String(message, StandardCharsets.UTF_8));
        }
    }
}
