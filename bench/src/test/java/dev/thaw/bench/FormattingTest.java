package dev.thaw.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.core.StartKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FormattingTest {

    @Test
    void textTableAlignsColumns() {
        String table = TextTable.numeric("kind", "n", "median ms").row("boot", "20", "412.30").row("warm", "500", "1.20").render();
        assertThat(table.lines()).containsExactly(
                "kind    n  median ms",
                "boot   20     412.30",
                "warm  500       1.20");
    }

    @Test
    void reportShowsSeriesRatiosAndUnexpectedStarts() {
        String report = Reports.table(FunctionSummary.of("hello", "ready", SummaryTest.typical()));
        assertThat(report.lines().toList()).first().isEqualTo("hello (snapshot: ready)");
        assertThat(report).contains("kind  ", "median ms", "p99 ms")
                .containsPattern("boot\\s+10\\s+400\\.\\d\\d")
                .containsPattern("warm\\s+50\\s+2\\.00")
                .contains("boot/restore (median): 10.0x   restore/warm (median): 20.0x")
                .contains("WARNING: 2 of 10 restore requests did not start as 'restore' (restore=8;boot=2)");
    }

    @Test
    void numbersUseDotsAndBlanksForMissingValues() {
        assertThat(Reports.ms(1.234)).isEqualTo("1.23");
        assertThat(Reports.ms(Double.NaN)).isEqualTo("-");
        assertThat(Reports.ratio(OptionalDouble.empty())).isEqualTo("-");
        assertThat(CsvFiles.number(0.5)).isEqualTo("0.500");
        assertThat(CsvFiles.number(Double.NaN)).isEmpty();
    }

    @Test
    void csvEscapesOnlyWhenNeeded() {
        assertThat(CsvFiles.row("a", "b,c", "say \"hi\"", "x\ny")).isEqualTo("a,\"b,c\",\"say \"\"hi\"\"\",\"x\ny\"");
    }

    @Test
    void samplesCsvHasOneRowPerRequest(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("out/samples.csv");
        CsvFiles.writeSamples(file, List.of(
                new Sample("hello", Series.BOOT, 1, 412.3456, OptionalDouble.of(380.1), StartKind.BOOT),
                new Sample("hello", Series.RESTORE, 1, 40.0, OptionalDouble.empty(), StartKind.BOOT)));
        assertThat(Files.readAllLines(file)).containsExactly(
                "function,kind,iteration,client_ms,server_phase_ms,start_kind",
                "hello,boot,1,412.346,380.100,boot",
                "hello,restore,1,40.000,,boot");
    }

    @Test
    void summaryCsvRepeatsRatiosOnEveryRow(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("summary.csv");
        CsvFiles.writeSummary(file, List.of(FunctionSummary.of("hello", "failed: no CRIU", SummaryTest.typical())));
        List<String> lines = Files.readAllLines(file);
        assertThat(lines).hasSize(4);
        assertThat(lines.getFirst()).isEqualTo(CsvFiles.SUMMARY_HEADER);
        // Percentiles carry HdrHistogram's 0.1% bucket error, so the ratios are only nearly 10 and 20.
        assertThat(lines.get(1)).matches("hello,boot,10,40\\d\\.\\d{3},.*,boot=10,failed: no CRIU,(9\\.99\\d|10\\.00\\d),(19\\.9\\d\\d|20\\.0\\d\\d)");
        assertThat(lines.get(2)).contains(",restore=8;boot=2,");
        assertThat(lines.get(3)).startsWith("hello,warm,50,");
    }
}
