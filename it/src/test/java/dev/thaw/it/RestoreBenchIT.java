package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.thaw.core.FileTrees;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code thaw bench restore --interleave}, as a user runs it: both variants' nodes run at once and
 * each cell's restores alternate between them; both summaries are printed and every sample is a
 * restore from where it was sent.
 */
class RestoreBenchIT {

    @Test
    void interleavedVariantsTakeTurnsRestoreByRestore() throws Exception {
        assumeTrue(TestNode.criuAvailable(), "CRIU is not available");
        Path work = Files.createTempDirectory("thaw-it-bench-");
        try {
            Path examples = work.resolve("examples");
            Files.createDirectories(examples.resolve("hello/target"));
            Files.copy(TestNode.FUNCTIONS.resolve("thaw-examples-hello.jar"),
                    examples.resolve("hello/target/thaw-examples-hello.jar"));
            Path output = work.resolve("results");
            Path log = work.resolve("bench.log");
            Process bench = new ProcessBuilder(CliJar.command("bench", "restore", "--functions", "hello", "--variants",
                    "enc-512k,enc-512k-nosandbox", "--sources", "local", "--repeat", "3", "--no-dedup", "--interleave",
                    "--store-no-warm-up", "--output", output.toString(), "--examples-dir", examples.toString()))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            assertThat(bench.waitFor(5, TimeUnit.MINUTES)).as("the benchmark ends").isTrue();
            String printed = Files.readString(log);
            assertThat(bench.exitValue()).as(printed).isZero();
            assertThat(printed).contains("store enc-512k (", "store enc-512k-nosandbox (");

            List<String> samples = Files.readAllLines(output.resolve("restore-samples.csv"));
            List<String> header = List.of(samples.getFirst().split(","));
            int variant = header.indexOf("variant");
            int expected = header.indexOf("as_expected");
            int start = header.indexOf("start_kind");
            List<String> order = new ArrayList<>();
            for (String row : samples.subList(1, samples.size())) {
                String[] cells = row.split(",", -1);
                order.add(cells[variant]);
                assertThat(cells[start]).as(row).isEqualTo("restore");
                assertThat(cells[expected]).as(row).isEqualTo("true");
            }
            assertThat(order).as("taken in turns, one restore per variant")
                    .containsExactly("enc-512k", "enc-512k-nosandbox", "enc-512k", "enc-512k-nosandbox", "enc-512k",
                            "enc-512k-nosandbox");
            assertThat(printed).as("the progress shows the turns").containsSubsequence(
                    "[enc-512k hello] eager from local 1/3", "[enc-512k-nosandbox hello] eager from local 1/3",
                    "[enc-512k hello] eager from local 2/3");
            assertThat(output.resolve("nodes")).as("both nodes' data removed").isEmptyDirectory();
        } finally {
            FileTrees.deleteQuietly(work);
        }
    }
}
