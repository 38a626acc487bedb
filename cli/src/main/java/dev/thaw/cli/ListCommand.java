package dev.thaw.cli;

import dev.thaw.bench.TextTable;
import dev.thaw.client.ThawClient;
import dev.thaw.core.FunctionInfo;
import java.util.List;
import picocli.CommandLine.Command;

/** {@code thaw list}: one line per deployed function. */
@Command(name = "list", description = "Lists the deployed functions.")
final class ListCommand extends ClientCommand {

    @Override
    int run(ThawClient client) {
        List<FunctionInfo> functions = client.list();
        if (functions.isEmpty()) {
            out().println("no functions deployed");
            return 0;
        }
        out().print(table(functions));
        return 0;
    }

    static String table(List<FunctionInfo> functions) {
        TextTable table = TextTable.leftAligned("NAME", "VERSION", "HANDLER", "MEMORY", "SNAPSHOT", "IDLE/BUSY");
        for (FunctionInfo f : functions) {
            table.row(f.name(), Long.toString(f.version()), f.handler(), f.memoryMb() + " MB", snapshot(f), instances(f));
        }
        return table.render();
    }

    private static String snapshot(FunctionInfo f) {
        return f.snapshot() == null ? "-" : f.snapshot().state();
    }

    private static String instances(FunctionInfo f) {
        return f.instances() == null ? "-" : f.instances().idle() + "/" + f.instances().busy();
    }
}
