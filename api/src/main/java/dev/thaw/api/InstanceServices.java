package dev.thaw.api;

import java.util.ServiceLoader;

/**
 * Finds what an instance's runtime supplies ({@link Xdt}, {@link Functions}): thaw's runtime
 * registers them as services of this package's own class loader (the runtime always supplies
 * {@code dev.thaw.api}, so a function and its runtime see the same classes).
 */
final class InstanceServices {
    private static final ClassValue<Object> FOUND = new ClassValue<>() {
        @Override
        protected Object computeValue(Class<?> type) {
            return ServiceLoader.load(type, type.getClassLoader()).findFirst().orElse(null);
        }
    };

    private InstanceServices() {
    }

    /** @throws IllegalStateException with {@code absent} as its message when there is none */
    static <T> T get(Class<T> type, String absent) {
        Object found = FOUND.get(type);
        if (found == null) {
            throw new IllegalStateException(absent);
        }
        return type.cast(found);
    }
}
