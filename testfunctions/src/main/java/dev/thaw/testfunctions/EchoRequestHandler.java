package dev.thaw.testfunctions;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AWS Lambda's {@code RequestHandler} shape: returns {@code {"shape":"lambda","echo":input,"functionName":..}}.
 * Handler {@code EchoRequestHandler::handleRequest}.
 */
public class EchoRequestHandler implements RequestHandler<Map<String, Object>, Map<String, Object>> {

    /** Creates the handler. */
    public EchoRequestHandler() {
    }

    @Override
    public Map<String, Object> handleRequest(Map<String, Object> input, Context context) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("shape", "lambda");
        out.put("echo", input);
        out.put("functionName", context.getFunctionName());
        return out;
    }
}
