package dev.thaw.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What the restore benchmark measures.
 *
 * @param functions example functions (see {@link BenchOptions#KNOWN_FUNCTIONS}) and workloads ({@code json},
 *     {@code image}, {@code aes}, {@code matmul}, {@code template}, {@code compression}, {@code ml})
 * @param variants store configurations, one node each
 * @param modes restore modes ({@code eager}, {@code lazy}, {@code reap})
 * @param sources where the images come from: {@code local} (the node's working copy on tmpfs, the
 *     plain-directory baseline), {@code memory}, {@code disk}, {@code s3} (faster places emptied first)
 * @param repeats cold starts per cell
 * @param dedup whether to measure deduplication (a second build of each function, and pairs of functions)
 * @param output directory for the CSV files
 * @param examplesDir the {@code examples} directory holding the built example JARs
 * @param primeRounds each function is deployed primed with this many invocations of its own
 *     benchmark event before its snapshot ({@code FunctionManifest.Priming}); 0 for unprimed
 * @param interleave whether every variant's node runs for the whole run, the variants taking turns
 *     restore by restore (a ratio between variants then does not depend on when each ran); else
 *     one variant after the other, each with the machine to itself
 */
public record RestoreBenchOptions(List<String> functions, List<StoreVariant> variants, List<String> modes,
                                  List<String> sources, int repeats, boolean dedup, Path output, Path examplesDir,
                                  int primeRounds, boolean interleave) {
    /** The places a restore can read its images from, fastest first. */
    public static final List<String> SOURCES = List.of("local", "memory", "disk", "s3");
    /** The restore modes. */
    public static final List<String> MODES = dev.thaw.core.FunctionManifest.RESTORE_MODES;

    /** Copies the lists and checks every value. */
    public RestoreBenchOptions {
        functions = List.copyOf(functions);
        variants = List.copyOf(variants);
        modes = List.copyOf(modes);
        sources = List.copyOf(sources);
        Objects.requireNonNull(output, "output");
        Objects.requireNonNull(examplesDir, "examplesDir");
        requireKnown("function", functions, java.util.stream.Stream.concat(BenchOptions.KNOWN_FUNCTIONS.stream(),
                ExampleFunction.workloadNames().stream()).toList());
        requireKnown("restore mode", modes, MODES);
        requireKnown("source", sources, SOURCES);
        if (variants.isEmpty()) {
            throw new IllegalArgumentException("name at least one store variant");
        }
        if (repeats < 1) {
            throw new IllegalArgumentException("repeats must be at least 1, got " + repeats);
        }
        if (primeRounds < 0 || primeRounds > dev.thaw.core.FunctionManifest.Priming.MAX_PRIME_ROUNDS) {
            throw new IllegalArgumentException("prime rounds must be between 0 and "
                    + dev.thaw.core.FunctionManifest.Priming.MAX_PRIME_ROUNDS + ", got " + primeRounds);
        }
    }

    /** Options whose variants run one after the other. */
    public RestoreBenchOptions(List<String> functions, List<StoreVariant> variants, List<String> modes,
                               List<String> sources, int repeats, boolean dedup, Path output, Path examplesDir,
                               int primeRounds) {
        this(functions, variants, modes, sources, repeats, dedup, output, examplesDir, primeRounds, false);
    }

    /** Options for unprimed functions. */
    public RestoreBenchOptions(List<String> functions, List<StoreVariant> variants, List<String> modes,
                               List<String> sources, int repeats, boolean dedup, Path output, Path examplesDir) {
        this(functions, variants, modes, sources, repeats, dedup, output, examplesDir, 0);
    }

    private static void requireKnown(String what, List<String> values, List<String> known) {
        if (values.isEmpty()) {
            throw new IllegalArgumentException("name at least one " + what);
        }
        for (String v : values) {
            if (!known.contains(v)) {
                throw new IllegalArgumentException("unknown " + what + " '" + v + "': choose from " + known);
            }
        }
    }
}
