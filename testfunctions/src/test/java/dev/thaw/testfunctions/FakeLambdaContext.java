package dev.thaw.testfunctions;

import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.CognitoIdentity;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;

/** The few Lambda context facts the fixtures read. */
record FakeLambdaContext(String functionName, int memoryMb) implements Context {

    @Override public String getAwsRequestId() { return "req-1"; }
    @Override public String getLogGroupName() { return "/thaw/" + functionName; }
    @Override public String getLogStreamName() { return "test"; }
    @Override public String getFunctionName() { return functionName; }
    @Override public String getFunctionVersion() { return "1"; }
    @Override public String getInvokedFunctionArn() { return "arn:thaw:function:" + functionName; }
    @Override public CognitoIdentity getIdentity() { return null; }
    @Override public ClientContext getClientContext() { return null; }
    @Override public int getRemainingTimeInMillis() { return 30_000; }
    @Override public int getMemoryLimitInMB() { return memoryMb; }

    @Override
    public LambdaLogger getLogger() {
        return new LambdaLogger() {
            @Override public void log(String message) { }
            @Override public void log(byte[] message) { }
        };
    }
}
