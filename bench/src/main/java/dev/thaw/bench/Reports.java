package dev.thaw.bench;

import java.util.Locale;
import java.util.OptionalDouble;

/** The human-readable result of one function: a table of its series and the ratios. */
final class Reports {

    private Reports() {
    }

    static String table(FunctionSummary summary) {
        StringBuilder out = new StringBuilder();
        out.append(summary.function()).append(" (snapshot: ").append(summary.snapshotState()).append(')')
                .append(System.lineSeparator());
        TextTable table = TextTable.numeric("kind", "n", "median ms", "p99 ms", "min ms", "max ms", "server median ms", "starts");
        for (SeriesSummary s : summary.series()) {
            table.row(s.series().label(), Long.toString(s.n()), ms(s.medianMs()), ms(s.p99Ms()), ms(s.minMs()),
                    ms(s.maxMs()), ms(s.serverMedianMs()), s.startKindsText());
        }
        out.append(table.render());
        out.append("boot/restore (median): ").append(ratio(summary.bootOverRestore()))
                .append("   restore/warm (median): ").append(ratio(summary.restoreOverWarm()))
                .append(System.lineSeparator());
        summary.series().stream().filter(s -> s.unexpectedStarts() > 0).forEach(s -> out
                .append("WARNING: ").append(s.unexpectedStarts()).append(" of ").append(s.n()).append(' ')
                .append(s.series().label()).append(" requests did not start as '").append(s.series().expected().wireName())
                .append("' (").append(s.startKindsText()).append(')').append(System.lineSeparator()));
        return out.toString();
    }

    /** @return {@code value} with two decimals, or {@code -} when there is none */
    static String ms(double value) {
        return Double.isNaN(value) ? "-" : String.format(Locale.ROOT, "%.2f", value);
    }

    static String ratio(OptionalDouble value) {
        return value.isPresent() ? String.format(Locale.ROOT, "%.1fx", value.getAsDouble()) : "-";
    }
}
