package dev.thaw.api;

import java.util.ServiceLoader;

/**
 * Finds the {@link Xdt} of the instance: thaw's runtime registers one as a service of this
 * interface's own class loader (the runtime always supplies {@code dev.thaw.api}, so a function
 * and its runtime see the same classes).
 */
final class XdtProvider {
    private XdtProvider() {
    }

    private static final class Holder {
        static final Xdt INSTANCE = ServiceLoader.load(Xdt.class, Xdt.class.getClassLoader()).findFirst().orElse(null);
    }

    static Xdt get() {
        Xdt x = Holder.INSTANCE;
        if (x == null) {
            throw new IllegalStateException("no XDT here: Xdt.get() works inside a thaw instance only;"
                    + " unit tests can use Xdt.inMemory()");
        }
        return x;
    }
}
