package dev.thaw.examples.lambda;

import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.CognitoIdentity;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** A Lambda context for tests that records what the handler logs. */
final class FakeContext implements Context {

    final List<String> logged = new ArrayList<>();
    private final String requestId;

    FakeContext(String requestId) {
        this.requestId = requestId;
    }

    @Override public String getAwsRequestId() { return requestId; }
    @Override public String getLogGroupName() { return "/thaw/greeting"; }
    @Override public String getLogStreamName() { return "test"; }
    @Override public String getFunctionName() { return "greeting"; }
    @Override public String getFunctionVersion() { return "1"; }
    @Override public String getInvokedFunctionArn() { return "arn:thaw:function:greeting"; }
    @Override public CognitoIdentity getIdentity() { return null; }
    @Override public ClientContext getClientContext() { return null; }
    @Override public int getRemainingTimeInMillis() { return 30_000; }
    @Override public int getMemoryLimitInMB() { return 512; }

    @Override
    public LambdaLogger getLogger() {
        return new LambdaLogger() {
            @Override public void log(String message) { logged.add(message); }
            @Override public void log(byte[] message) { logged.add(new String(message, StandardCharsets.UTF_8)); }
        };
    }
}
