package dev.thaw.workloads;

import com.samskivert.mustache.Mustache;
import com.samskivert.mustache.Template;
import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * FunctionBench's {@code chameleon}: render an HTML table with a template engine. Handler:
 * {@code dev.thaw.workloads.TemplateWorkload::handle}.
 *
 * <p>The template ({@code table.mustache}, a resource in the JAR) is compiled once during init with
 * JMustache, which HTML-escapes every {@code {{value}}}. The table has {@code rows x cols} generated
 * cells ({@code R<row>C<col>}), or the given {@code cells} when there are any; each row starts with
 * its number and is classed {@code even} or {@code odd}.
 */
public class TemplateWorkload implements Handler<TemplateWorkload.Input, TemplateWorkload.Output> {

    /**
     * @param rows number of generated rows (0 to 100000), when {@code cells} is absent
     * @param cols number of generated columns (0 to 1000), when {@code cells} is absent
     * @param title the page's title, or null for "thaw table"
     * @param cells the table's cells, row by row, instead of generated ones
     */
    public record Input(int rows, int cols, String title, List<List<String>> cells) {
    }

    /**
     * @param bytes UTF-8 size of the page
     * @param sha256 hex SHA-256 of the page
     */
    public record Output(int bytes, String sha256) {
    }

    static final String RESOURCE = "table.mustache";
    static final String DEFAULT_TITLE = "thaw table";

    private final Template template;

    /** Creates the handler; compiles the template. */
    public TemplateWorkload() {
        try (InputStream in = TemplateWorkload.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the template " + RESOURCE + " is missing from the JAR");
            }
            try (Reader reader = new InputStreamReader(in, StandardCharsets.UTF_8)) {
                template = Mustache.compiler().escapeHTML(true).compile(reader);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the template " + RESOURCE, e);
        }
        render(new Input(2, 2, null, null)); // loads the rendering path during init
    }

    @Override
    public Output handle(Input input, InvocationContext context) {
        Inputs.required(input, "{\"rows\":100,\"cols\":10}");
        byte[] page = render(input).getBytes(StandardCharsets.UTF_8);
        return new Output(page.length, Hashes.sha256Hex(page));
    }

    /** @return the page for {@code input} */
    final String render(Input input) {
        List<List<String>> cells = input.cells() != null ? input.cells()
                : generate(Inputs.inRange("rows", input.rows(), 0, 100_000), Inputs.inRange("cols", input.cols(), 0, 1000));
        int cols = cells.stream().mapToInt(row -> row == null ? 0 : row.size()).max().orElse(0);
        List<String> header = new ArrayList<>(cols + 1);
        header.add("#");
        for (int c = 1; c <= cols; c++) {
            header.add("Column " + c);
        }
        List<Map<String, Object>> rows = new ArrayList<>(cells.size());
        for (int r = 0; r < cells.size(); r++) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("number", r + 1);
            row.put("even", (r + 1) % 2 == 0);
            row.put("cells", cells.get(r) == null ? List.of() : cells.get(r));
            rows.add(row);
        }
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("title", input.title() == null ? DEFAULT_TITLE : input.title());
        model.put("header", header);
        model.put("rows", rows);
        return template.execute(model);
    }

    static List<List<String>> generate(int rows, int cols) {
        List<List<String>> cells = new ArrayList<>(rows);
        for (int r = 1; r <= rows; r++) {
            List<String> row = new ArrayList<>(cols);
            for (int c = 1; c <= cols; c++) {
                row.add("R" + r + "C" + c);
            }
            cells.add(row);
        }
        return cells;
    }
}
