package dev.thaw.runtime;

import java.lang.reflect.Field;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Makes a restored clone stop behaving like its siblings, as far as a platform can.
 *
 * <p>Every clone of one snapshot starts with the same memory, so every pseudo-random generator in
 * it would produce the same sequence. The JDK keeps a few generators in static state that user code
 * reaches implicitly; this class reseeds them from the kernel's entropy after each restore:
 * {@code Math.random()}'s generator, the seed uniquifier of {@code new Random()}, the seeder of
 * {@code ThreadLocalRandom} (and the per-thread probes, so every thread re-initializes its seed),
 * the default generator of {@code new SplittableRandom()}, and it empties the JDK's DNS cache so
 * names are resolved again. {@code SecureRandom} (NativePRNG) and {@code UUID.randomUUID()} mix in
 * {@code /dev/urandom} on every call and need nothing.
 *
 * <p>It cannot reseed generators the function created itself during init (a {@code Random} field,
 * a DRBG {@code SecureRandom}): functions reseed those in an {@code org.crac} {@code afterRestore}
 * hook. These fields are JDK internals: the node opens the packages with {@code --add-opens}; a
 * field that is missing in some JDK is skipped and reported, never fatal.
 */
final class Uniqueness {
    private final SecureRandom entropy = new SecureRandom();
    private final List<String> skipped = new ArrayList<>();

    /** @return what could not be reseeded (empty when everything was) */
    List<String> reseedAfterRestore() {
        skipped.clear();
        attempt("Math.random", () -> ((Random) staticField("java.lang.Math$RandomNumberGeneratorHolder",
                "randomNumberGenerator")).setSeed(entropy.nextLong()));
        attempt("new Random()", () -> ((AtomicLong) staticField("java.util.Random", "seedUniquifier"))
                .set(entropy.nextLong()));
        attempt("ThreadLocalRandom", this::reseedThreadLocalRandom);
        attempt("new SplittableRandom()", () -> ((AtomicLong) staticField("java.util.SplittableRandom", "defaultGen"))
                .set(entropy.nextLong()));
        attempt("DNS cache", () -> ((Map<?, ?>) staticField("java.net.InetAddress", "cache")).clear());
        return List.copyOf(skipped);
    }

    private void reseedThreadLocalRandom() throws ReflectiveOperationException {
        ((AtomicLong) staticField("java.util.concurrent.ThreadLocalRandom", "seeder")).set(entropy.nextLong());
        Field probe = Thread.class.getDeclaredField("threadLocalRandomProbe");
        probe.setAccessible(true);
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            // A zero probe makes ThreadLocalRandom.current() initialize the thread's seed afresh.
            probe.setInt(t, 0);
        }
    }

    private static Object staticField(String className, String name) throws ReflectiveOperationException {
        Field f = Class.forName(className).getDeclaredField(name);
        f.setAccessible(true);
        return f.get(null);
    }

    private void attempt(String what, ReflectiveAction action) {
        try {
            action.run();
        } catch (ReflectiveOperationException | RuntimeException e) {
            skipped.add(what + " (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
        }
    }

    @FunctionalInterface
    private interface ReflectiveAction {
        void run() throws ReflectiveOperationException;
    }
}
