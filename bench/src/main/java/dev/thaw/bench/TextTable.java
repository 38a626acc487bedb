package dev.thaw.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * A plain-text table, columns two spaces apart, no trailing blanks: {@link #numeric} right-aligns
 * every column but the first (figures line up), {@link #leftAligned} aligns all left (as
 * {@code docker ps} prints). Used by the benchmark's reports and the CLI's listings.
 */
public final class TextTable {
    private final List<String[]> rows = new ArrayList<>();
    private final int columns;
    private final boolean rightAlignFigures;

    private TextTable(boolean rightAlignFigures, String... header) {
        this.rightAlignFigures = rightAlignFigures;
        this.columns = header.length;
        rows.add(header.clone());
    }

    /** @return a table whose columns after the first are right-aligned */
    public static TextTable numeric(String... header) {
        return new TextTable(true, header);
    }

    /** @return a table whose columns are all left-aligned */
    public static TextTable leftAligned(String... header) {
        return new TextTable(false, header);
    }

    /** Adds a row with one cell per header column. */
    public TextTable row(String... cells) {
        if (cells.length != columns) {
            throw new IllegalArgumentException("expected " + columns + " cells, got " + cells.length);
        }
        rows.add(cells.clone());
        return this;
    }

    /** @return the table, one line per row, each ending with a newline */
    public String render() {
        int[] widths = new int[columns];
        for (String[] row : rows) {
            for (int i = 0; i < columns; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < columns; i++) {
                String pad = " ".repeat(widths[i] - row[i].length());
                line.append(i == 0 ? "" : "  ").append(rightAlignFigures && i > 0 ? pad + row[i] : row[i] + pad);
            }
            out.append(line.toString().stripTrailing()).append(System.lineSeparator());
        }
        return out.toString();
    }
}
