package dev.thaw.testfunctions;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import dev.thaw.api.Xdt;
import dev.thaw.api.XdtException;
import dev.thaw.api.XdtOptions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Puts {@code bytes} bytes of {@link XdtData} from {@code seed} through XDT and returns the
 * reference: {@code {"reference","bytes","sha256"}}; a refused put returns
 * {@code {"refused": <reason>, "message"}}. Options as in the input: {@code reads}, {@code ttlMs},
 * {@code readers}, {@code durable}; {@code array: true} puts a byte array instead of a stream.
 */
public class XdtProducer implements Handler<XdtProducer.Input, Map<String, Object>> {

    /** What to put, and how. */
    public record Input(long bytes, long seed, Integer reads, Long ttlMs, List<String> readers, Boolean durable,
                        Boolean array) {
    }

    @Override
    public Map<String, Object> handle(Input in, InvocationContext context) throws Exception {
        XdtOptions o = XdtOptions.defaults();
        if (in.reads() != null) {
            o = o.reads(in.reads());
        }
        if (in.ttlMs() != null) {
            o = o.ttl(Duration.ofMillis(in.ttlMs()));
        }
        if (in.readers() != null) {
            o = o.readers(in.readers().toArray(String[]::new));
        }
        if (in.durable() != null) {
            o = o.durable(in.durable());
        }
        Map<String, Object> out = new LinkedHashMap<>();
        try {
            String ref = Boolean.TRUE.equals(in.array())
                    ? Xdt.get().put(XdtData.stream(in.bytes(), in.seed()).readAllBytes(), o)
                    : Xdt.get().put(XdtData.stream(in.bytes(), in.seed()), o);
            out.put("reference", ref);
            out.put("bytes", in.bytes());
            out.put("sha256", XdtData.sha256(in.bytes(), in.seed()));
        } catch (XdtException e) {
            out.put("refused", e.reason().name());
            out.put("message", e.getMessage());
        }
        return out;
    }
}
