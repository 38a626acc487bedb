package dev.thaw.bench;

import java.util.ArrayList;
import java.util.List;

/** A plain-text table: the first column left-aligned, the others right-aligned, two spaces apart. */
final class TextTable {
    private final List<String[]> rows = new ArrayList<>();
    private final int columns;

    TextTable(String... header) {
        columns = header.length;
        rows.add(header.clone());
    }

    TextTable row(String... cells) {
        if (cells.length != columns) {
            throw new IllegalArgumentException("expected " + columns + " cells, got " + cells.length);
        }
        rows.add(cells.clone());
        return this;
    }

    /** @return the table, one line per row, each ending with a newline */
    String render() {
        int[] widths = new int[columns];
        for (String[] row : rows) {
            for (int i = 0; i < columns; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (String[] row : rows) {
            for (int i = 0; i < columns; i++) {
                if (i > 0) {
                    out.append("  ");
                }
                String pad = " ".repeat(widths[i] - row[i].length());
                out.append(i == 0 ? row[i] + pad : pad + row[i]);
            }
            out.append(System.lineSeparator());
        }
        return out.toString().replaceAll(" +(\\R)", "$1");
    }
}
