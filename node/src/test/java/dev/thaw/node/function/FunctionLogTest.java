package dev.thaw.node.function;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FunctionLogTest {

    @Test
    void everyLineIsInTheFileAsSoonAsItIsAppended(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("f/function.log");
        try (FunctionLog log = new FunctionLog(file)) {
            log.append("START RequestId: 1 Version: 1");
            assertThat(Files.readAllLines(file)).singleElement().asString().endsWith(" START RequestId: 1 Version: 1");
            log.append("END RequestId: 1");
            assertThat(Files.readAllLines(file)).hasSize(2);
            assertThat(log.tail(5)).hasSize(2).last().asString().endsWith(" END RequestId: 1");
        }
    }

    @Test
    void theFileRotatesAtItsLimitKeepingOnePreviousFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("function.log");
        Path previous = dir.resolve("function.log.1");
        try (FunctionLog log = new FunctionLog(file, 4096)) {
            for (int i = 0; i < 1000; i++) {
                log.append("REPORT RequestId: " + i + "\tDuration: 0.31 ms");
            }
            assertThat(log.tail(FunctionLog.MAX_LINES_IN_MEMORY)).as("memory keeps what the files let go").hasSize(1000);
        }
        assertThat(Files.size(file)).isLessThanOrEqualTo(4096);
        assertThat(Files.size(previous)).isLessThanOrEqualTo(4096).isGreaterThan(4000);
        List<String> last = Files.readAllLines(file);
        assertThat(last.get(last.size() - 1)).endsWith("RequestId: 999\tDuration: 0.31 ms");
        List<String> before = Files.readAllLines(previous);
        int firstHere = Integer.parseInt(last.get(0).replaceAll(".*RequestId: (\\d+)\t.*", "$1"));
        assertThat(before.get(before.size() - 1)).as("the previous file ends where this one starts")
                .contains("RequestId: " + (firstHere - 1) + "\t");
        try (var files = Files.list(dir)) {
            assertThat(files).as("the file and one previous, no more").hasSize(2);
        }
    }

    @Test
    void aReopenedLogShowsTheLinesLoggedBeforeIt(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("function.log");
        try (FunctionLog log = new FunctionLog(file)) {
            log.append("SNAPSHOT taken in 120 ms");
            log.append("REPORT RequestId: 1");
        }
        try (FunctionLog reopened = new FunctionLog(file)) {
            reopened.append("START RequestId: 2");
            assertThat(reopened.tail(10)).hasSize(3);
            assertThat(reopened.tail(10).get(0)).endsWith(" SNAPSHOT taken in 120 ms");
            assertThat(reopened.tail(1).get(0)).endsWith(" START RequestId: 2");
        }
    }

    @Test
    void aReopenedLargeLogRecallsWholeLinesOnly(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("function.log");
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 40_000; i++) {
            text.append("2026-12-07T00:00:00Z REPORT RequestId: ").append(i).append('\n');
        }
        Files.writeString(file, text);
        try (FunctionLog reopened = new FunctionLog(file)) {
            List<String> recalled = reopened.tail(FunctionLog.MAX_LINES_IN_MEMORY);
            assertThat(recalled).hasSize(FunctionLog.MAX_LINES_IN_MEMORY)
                    .allMatch(l -> l.startsWith("2026-12-07T00:00:00Z REPORT RequestId: "));
            assertThat(recalled.get(recalled.size() - 1)).endsWith("RequestId: 39999");
        }
    }

    @Test
    void aReopenedLogCountsWhatTheFileAlreadyHeld(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("function.log");
        Files.writeString(file, "x".repeat(4090) + "\n");
        try (FunctionLog log = new FunctionLog(file, 4096)) {
            log.append("a line that does not fit beside the old ones");
        }
        assertThat(Files.readString(dir.resolve("function.log.1"))).startsWith("xxxx");
        assertThat(Files.readAllLines(file)).singleElement().asString()
                .endsWith(" a line that does not fit beside the old ones");
    }

    @Test
    void linesAfterTheCloseStayInMemoryAndNoRotationReopensTheFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("function.log");
        FunctionLog log = new FunctionLog(file, 100);
        log.append("before the close");
        log.close();
        log.append("z".repeat(200)); // past the limit: a rotation, were the file still open
        assertThat(Files.readAllLines(file)).singleElement().asString().endsWith(" before the close");
        assertThat(dir.resolve("function.log.1")).doesNotExist();
        assertThat(log.tail(5)).hasSize(2);
    }

    @Test
    void aLineLongerThanTheLimitIsStillWritten(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("function.log");
        try (FunctionLog log = new FunctionLog(file, 100)) {
            log.append("y".repeat(500));
            log.append("short");
        }
        assertThat(Files.readString(dir.resolve("function.log.1"))).contains("y".repeat(500));
        assertThat(Files.readAllLines(file)).singleElement().asString().endsWith(" short");
    }
}
