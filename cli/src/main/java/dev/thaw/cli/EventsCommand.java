package dev.thaw.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.bench.TextTable;
import dev.thaw.client.ThawClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code thaw events dead NAME [--clear]}: asynchronous invocations whose every attempt failed. */
@Command(name = "events", description = "Asynchronous (Event) invocations.", subcommands = EventsCommand.Dead.class)
final class EventsCommand extends GroupCommand {

    /** {@code thaw events dead NAME [--clear]}. */
    @Command(name = "dead", description = {"Lists a function's dead letters: Event invocations whose every attempt"
            + " (the first and two retries) failed, with request id, time, attempts, last error and payload size.",
            "--clear deletes them after listing them."})
    static final class Dead extends ClientCommand {
        @Parameters(index = "0", paramLabel = "NAME", description = "Function name.")
        String name;

        @Option(names = "--clear", description = "Delete the dead letters (after listing them).")
        boolean clear;

        @Override
        int run(ThawClient client) {
            JsonNode letters = client.deadLetters(name).path("deadLetters");
            TextTable table = TextTable.leftAligned("REQUEST ID", "FAILED AT", "ATTEMPTS", "PAYLOAD", "LAST ERROR");
            for (JsonNode l : letters) {
                table.row(l.path("requestId").asText(), l.path("failedAt").asText(), l.path("attempts").asText(),
                        l.path("payloadBytes").asText() + " B", firstLine(l.path("lastError").asText()));
            }
            if (letters.isEmpty()) {
                out().println("no dead letters for " + name);
            } else {
                out().print(table.render());
            }
            if (clear) {
                out().println("cleared " + client.clearDeadLetters(name) + " dead letters of " + name);
            }
            return 0;
        }

        private static String firstLine(String s) {
            int nl = s.indexOf('\n');
            String line = nl < 0 ? s : s.substring(0, nl);
            return line.length() > 160 ? line.substring(0, 160) + "…" : line;
        }
    }
}
