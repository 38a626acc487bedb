package dev.thaw.testfunctions;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import dev.thaw.api.Xdt;
import dev.thaw.api.XdtException;
import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An AWS Lambda {@code RequestHandler} that knows nothing of thaw but {@link Xdt#get()}: reads
 * {@code {"reference": ...}} as a stream and returns {@code {"bytes","sha256"}} of what it read,
 * or {@code {"refused": <reason>, "message"}} when the read is refused or fails.
 */
public class XdtConsumer implements RequestHandler<Map<String, Object>, Map<String, Object>> {

    @Override
    public Map<String, Object> handleRequest(Map<String, Object> input, Context context) {
        Map<String, Object> out = new LinkedHashMap<>();
        String ref = String.valueOf(input.get("reference"));
        try (InputStream in = new CountingStream(Xdt.get().open(ref))) {
            out.put("sha256", XdtData.sha256(in));
            out.put("bytes", ((CountingStream) in).count);
        } catch (XdtException e) {
            refused(out, e);
        } catch (IOException e) {
            if (e.getCause() instanceof XdtException x) {
                refused(out, x);
            } else {
                out.put("refused", "IO");
                out.put("message", e.toString());
            }
        }
        return out;
    }

    private static void refused(Map<String, Object> out, XdtException e) {
        out.put("refused", e.reason().name());
        out.put("message", e.getMessage());
    }

    private static final class CountingStream extends java.io.FilterInputStream {
        long count;

        CountingStream(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                count++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                count += n;
            }
            return n;
        }
    }
}
