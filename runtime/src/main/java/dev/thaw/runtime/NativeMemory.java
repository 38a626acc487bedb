package dev.thaw.runtime;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * Gives freed native memory back to the kernel before a checkpoint.
 *
 * <p>The JIT compilers and class loading malloc and free a lot during init; glibc keeps the freed
 * pages in its arenas, still resident and dirty, and CRIU would copy every one of them into the
 * image and back into every clone. {@code malloc_trim(0)} releases them, which shrinks the image
 * (and so every restore) at no cost to the running program.
 */
final class NativeMemory {
    private static final Optional<MethodHandle> MALLOC_TRIM = Linker.nativeLinker().defaultLookup().find("malloc_trim")
            .map(addr -> Linker.nativeLinker().downcallHandle(addr,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG)));

    private NativeMemory() {
    }

    /** @return true when glibc released memory; false when it had none or this is not glibc */
    static boolean trim() {
        if (MALLOC_TRIM.isEmpty()) {
            return false;
        }
        try {
            return (int) MALLOC_TRIM.get().invokeExact(0L) == 1;
        } catch (Throwable t) {
            return false;
        }
    }
}
