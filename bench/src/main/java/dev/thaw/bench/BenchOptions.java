package dev.thaw.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What {@link ColdStartBenchmark} measures and where it writes.
 *
 * @param functions example functions to measure, by name (see {@link #KNOWN_FUNCTIONS})
 * @param cold cold starts per series (boot and restore)
 * @param warm warm invocations
 * @param output directory for the CSV files
 * @param examplesDir the {@code examples} directory holding the built example JARs
 */
public record BenchOptions(List<String> functions, int cold, int warm, Path output, Path examplesDir) {

    /** The example functions the benchmark knows how to deploy and invoke. */
    public static final List<String> KNOWN_FUNCTIONS = ExampleFunction.names();

    public BenchOptions {
        functions = List.copyOf(functions);
        Objects.requireNonNull(output, "output");
        Objects.requireNonNull(examplesDir, "examplesDir");
        if (functions.isEmpty()) {
            throw new IllegalArgumentException("name at least one function");
        }
        for (String f : functions) {
            if (!KNOWN_FUNCTIONS.contains(f)) {
                throw new IllegalArgumentException("unknown function '" + f + "': choose from " + KNOWN_FUNCTIONS);
            }
        }
        if (cold < 1 || warm < 1) {
            throw new IllegalArgumentException("cold and warm must be at least 1, got " + cold + " and " + warm);
        }
    }

    /** @return every known function, 20 cold starts per series, 50 warm calls, {@code bench-results}, {@code examples} */
    public static BenchOptions defaults() {
        return new BenchOptions(KNOWN_FUNCTIONS, 20, 50, Path.of("bench-results"), Path.of("examples"));
    }
}
