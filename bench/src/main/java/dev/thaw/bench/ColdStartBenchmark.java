package dev.thaw.bench;

import dev.thaw.client.ThawClient;
import java.io.PrintWriter;

/**
 * The cold-start benchmark: for each example function it measures boot-to-first-response (snapshots
 * off), restore-to-first-response (snapshots on) and warm invocations against a running node, prints
 * a table per function and writes per-request and summary CSV files. Cold starts are forced by
 * evicting the function's idle instances before each measured call.
 */
public interface ColdStartBenchmark {

    /**
     * @param client the node to measure
     * @param options what to measure
     * @param out where the result tables go
     * @param progress where the one-line progress counter goes (usually stderr)
     * @return a benchmark ready to {@link #run()}
     */
    static ColdStartBenchmark create(ThawClient client, BenchOptions options, PrintWriter out, PrintWriter progress) {
        return new ColdStartRun(client, options, out, progress);
    }

    /**
     * Deploys the bench functions, measures them, deletes them and writes the CSV files. A function
     * that fails is reported and skipped; an unreachable node ends the run with a
     * {@link dev.thaw.core.ThawException}.
     *
     * @return the files written and the functions that failed
     */
    BenchReport run();
}
