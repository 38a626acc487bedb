package dev.thaw.runtime;

import java.lang.reflect.Field;
import java.security.SecureRandom;
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
 * field that is missing in some JDK is skipped and reported, never fatal. The fields are looked up
 * before the checkpoint ({@link #prepare()}), so a clone only writes new values: reflection
 * lookups cost tens of milliseconds that would otherwise land on every cold start.
 */
final class Uniqueness {
    private final SecureRandom entropy = new SecureRandom();
    private final java.util.Set<String> skipped = new java.util.LinkedHashSet<>();
    private Random mathRandom;
    private AtomicLong randomSeedUniquifier;
    private AtomicLong threadLocalSeeder;
    private AtomicLong splittableDefault;
    private Map<?, ?> dnsCache;
    private Field threadProbe;

    /** Looks everything up; called before the checkpoint. */
    Uniqueness prepare() {
        mathRandom = (Random) staticField("java.lang.Math$RandomNumberGeneratorHolder", "randomNumberGenerator", "Math.random");
        randomSeedUniquifier = (AtomicLong) staticField("java.util.Random", "seedUniquifier", "new Random()");
        threadLocalSeeder = (AtomicLong) staticField("java.util.concurrent.ThreadLocalRandom", "seeder", "ThreadLocalRandom");
        splittableDefault = (AtomicLong) staticField("java.util.SplittableRandom", "defaultGen", "new SplittableRandom()");
        dnsCache = (Map<?, ?>) staticField("java.net.InetAddress", "cache", "DNS cache");
        try {
            threadProbe = Thread.class.getDeclaredField("threadLocalRandomProbe");
            threadProbe.setAccessible(true);
        } catch (ReflectiveOperationException | RuntimeException e) {
            skipped.add("ThreadLocalRandom per-thread seeds (" + e.getMessage() + ")");
        }
        entropy.nextLong();
        // Reseeding now too links the reflective writes (method-handle field accessors, a few ms)
        // into the snapshot; clones reseed again.
        reseedAfterRestore();
        return this;
    }

    /** @return what could not be reseeded (empty when everything was) */
    List<String> reseedAfterRestore() {
        if (mathRandom != null) {
            mathRandom.setSeed(entropy.nextLong());
        }
        set(randomSeedUniquifier);
        set(threadLocalSeeder);
        set(splittableDefault);
        if (dnsCache != null) {
            dnsCache.clear();
        }
        if (threadProbe != null) {
            resetThreadProbes();
        }
        return List.copyOf(skipped);
    }

    private void set(AtomicLong seed) {
        if (seed != null) {
            seed.set(entropy.nextLong());
        }
    }

    private void resetThreadProbes() {
        ThreadGroup root = Thread.currentThread().getThreadGroup();
        while (root.getParent() != null) {
            root = root.getParent();
        }
        Thread[] threads = new Thread[root.activeCount() + 16];
        int n = root.enumerate(threads, true);
        for (int i = 0; i < n; i++) {
            try {
                // A zero probe makes ThreadLocalRandom.current() initialize the thread's seed afresh.
                threadProbe.setInt(threads[i], 0);
            } catch (IllegalAccessException e) {
                skipped.add("ThreadLocalRandom seed of " + threads[i].getName());
            }
        }
    }

    private Object staticField(String className, String name, String what) {
        try {
            Field f = Class.forName(className).getDeclaredField(name);
            f.setAccessible(true);
            return f.get(null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            skipped.add(what + " (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
            return null;
        }
    }
}
