package dev.thaw.workloads;

import dev.thaw.api.FunctionLogger;
import dev.thaw.api.InvocationContext;

/** A tiny {@link InvocationContext} for calling handlers directly. */
record FakeContext(String functionName, int remainingMs) implements InvocationContext {

    FakeContext(String functionName) {
        this(functionName, 10_000);
    }

    @Override
    public String getAwsRequestId() {
        return "test-request";
    }

    @Override
    public String getFunctionName() {
        return functionName;
    }

    @Override
    public String getFunctionVersion() {
        return "1";
    }

    @Override
    public String getInvokedFunctionArn() {
        return "arn:thaw:test:function:" + functionName;
    }

    @Override
    public int getRemainingTimeInMillis() {
        return remainingMs;
    }

    @Override
    public int getMemoryLimitInMB() {
        return 256;
    }

    @Override
    public FunctionLogger logger() {
        return message -> { };
    }
}
