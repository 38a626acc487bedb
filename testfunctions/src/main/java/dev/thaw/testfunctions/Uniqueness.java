package dev.thaw.testfunctions;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.security.SecureRandom;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.crac.Context;
import org.crac.Core;
import org.crac.Resource;

/**
 * Returns one value from each common source of randomness, so tests can check that instances restored
 * from one snapshot do not all answer the same. {@code initRandom} comes from a {@link Random} made at
 * init; it is only unique per instance because an {@code afterRestore} hook reseeds it, the fix CRaC
 * documents for state a snapshot would otherwise clone. Handler {@code Uniqueness::handle}.
 */
public class Uniqueness implements Handler<Object, Map<String, Object>> {

    private final Random initRandom = new Random();
    // org.crac holds resources weakly: without this field the hook could be collected before a checkpoint.
    private final Resource reseeder = new Resource() {
        @Override
        public void beforeCheckpoint(Context<? extends Resource> context) {
        }

        @Override
        public void afterRestore(Context<? extends Resource> context) {
            initRandom.setSeed(new SecureRandom().nextLong());
        }
    };

    /** Creates the init-time random and registers the hook that reseeds it after a restore. */
    public Uniqueness() {
        Core.getGlobalContext().register(reseeder);
    }

    @Override
    public Map<String, Object> handle(Object input, InvocationContext context) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("mathRandom", Math.random());
        out.put("newRandom", new Random().nextLong());
        out.put("threadLocalRandom", ThreadLocalRandom.current().nextLong());
        out.put("splittableRandom", new SplittableRandom().nextLong());
        out.put("uuid", UUID.randomUUID().toString());
        out.put("secureRandom", new SecureRandom().nextLong());
        out.put("initRandom", initRandom.nextLong());
        return out;
    }
}
