package dev.thaw.testfunctions;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import dev.thaw.testfunctions.lib.TinyPool;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Uses a CRaC-aware library ({@link TinyPool}) that registers its own hooks. After a restore it answers
 * {@code {"open":true,"closes":1,"reopens":1}}; after a plain boot {@code {"open":true,"closes":0,"reopens":0}}.
 * Handler {@code LibraryUser::handle}.
 */
public class LibraryUser implements Handler<Object, Map<String, Object>> {

    // Also keeps the pool strongly reachable, which org.crac's weak registration needs.
    private final TinyPool pool = new TinyPool();

    /** Creates the pool. */
    public LibraryUser() {
    }

    @Override
    public Map<String, Object> handle(Object input, InvocationContext context) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("open", pool.isOpen());
        out.put("closes", pool.closes());
        out.put("reopens", pool.reopens());
        return out;
    }
}
