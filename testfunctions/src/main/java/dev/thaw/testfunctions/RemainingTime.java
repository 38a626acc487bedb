package dev.thaw.testfunctions;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Returns what Lambda's {@code Context} says of the invocation's time: {@code {"remainingMs": N,
 * "requestId": …, "functionVersion": …}}; prints one line. For deadline checks under any runtime,
 * the AWS runtime interface client included. Handler {@code RemainingTime::handleRequest}.
 */
public class RemainingTime implements RequestHandler<Map<String, Object>, Map<String, Object>> {

    /** Creates the handler. */
    public RemainingTime() {
    }

    @Override
    public Map<String, Object> handleRequest(Map<String, Object> input, Context context) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("remainingMs", context.getRemainingTimeInMillis());
        out.put("requestId", context.getAwsRequestId());
        out.put("functionVersion", context.getFunctionVersion());
        System.out.println("remaining " + out.get("remainingMs") + " ms in " + context.getAwsRequestId());
        return out;
    }
}
