package dev.thaw.bench;

import java.io.PrintWriter;

/**
 * The restore benchmark: cold start to first response of the example functions restored from each
 * place a snapshot can be (the node's working copy, the store's memory, disk and S3 tiers), for each
 * store configuration (chunk size, encryption) and restore mode, as ratios against the working-copy
 * baseline measured in the same run; plus the store's deduplication between two builds of a
 * function and between different functions.
 */
public interface RestoreBenchmark {

    /**
     * @param nodes starts a node per store variant
     * @param options what to measure
     * @param out where the tables go
     * @param progress where the progress line goes (usually stderr)
     */
    static RestoreBenchmark create(NodeLauncher nodes, RestoreBenchOptions options, PrintWriter out, PrintWriter progress) {
        return new RestoreRun(nodes, options, out, progress, null);
    }

    /**
     * As {@link #create(NodeLauncher, RestoreBenchOptions, PrintWriter, PrintWriter)}, with a bare
     * CRIU restore of the same working copy after each working-copy eager restore of a variant
     * without sandboxes, reported beside thaw's restore phase and first response.
     *
     * @param bare runs the bare restores
     */
    static RestoreBenchmark create(NodeLauncher nodes, RestoreBenchOptions options, PrintWriter out, PrintWriter progress,
                                   BareRestore bare) {
        return new RestoreRun(nodes, options, out, progress, bare);
    }

    /**
     * Runs every variant, writes {@code restore-samples.csv}, {@code restore-summary.csv} and
     * {@code dedup.csv} under the output directory, and prints the tables.
     *
     * @return the files written and the cells that failed
     */
    BenchReport run();
}
