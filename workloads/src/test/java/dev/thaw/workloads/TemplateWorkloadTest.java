package dev.thaw.workloads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class TemplateWorkloadTest {

    private final TemplateWorkload handler = new TemplateWorkload();

    private static final String TWO_BY_TWO = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>T &amp; Co</title>
            </head>
            <body>
            <h1>T &amp; Co</h1>
            <table>
            <thead>
            <tr><th>#</th><th>Column 1</th><th>Column 2</th></tr>
            </thead>
            <tbody>
            <tr class="odd"><td>1</td><td>R1C1</td><td>R1C2</td></tr>
            <tr class="even"><td>2</td><td>R2C1</td><td>R2C2</td></tr>
            </tbody>
            </table>
            </body>
            </html>
            """;

    @Test
    void rendersTheTableWrittenByHand() {
        TemplateWorkload.Input input = new TemplateWorkload.Input(2, 2, "T & Co", null);

        assertThat(handler.render(input)).isEqualTo(TWO_BY_TWO);
        byte[] page = TWO_BY_TWO.getBytes(StandardCharsets.UTF_8);
        assertThat(handler.handle(input, null)).isEqualTo(new TemplateWorkload.Output(page.length, Sha.hex(page)));
    }

    @Test
    void escapesHtmlInCellsAndTitle() {
        String page = handler.render(new TemplateWorkload.Input(0, 0, "<script>x</script>",
                List.of(List.of("<b>&\"", "plain"), List.of("it's"))));

        assertThat(page).contains("<td>&lt;b&gt;&amp;&quot;</td><td>plain</td>");
        assertThat(page).contains("<td>it&#39;s</td>");
        assertThat(page).contains("<title>&lt;script&gt;x&lt;/script&gt;</title>");
        assertThat(page).doesNotContain("<b>").doesNotContain("<script>");
        // the widest row sets the header
        assertThat(page).contains("<tr><th>#</th><th>Column 1</th><th>Column 2</th></tr>");
    }

    @Test
    void rendersLargerTables() {
        String page = handler.render(new TemplateWorkload.Input(50, 8, null, null));

        assertThat(page).contains("<title>thaw table</title>");
        assertThat(page.split("<tr", -1)).hasSize(1 + 1 + 50);
        assertThat(page.split("<td>", -1)).hasSize(1 + 50 * 9);
        assertThat(page).contains("<tr class=\"even\"><td>50</td><td>R50C1</td>").contains("<td>R50C8</td></tr>");
        TemplateWorkload.Output out = handler.handle(new TemplateWorkload.Input(50, 8, null, null), null);
        assertThat(out.sha256()).isEqualTo(Sha.hex(page));
        assertThat(out.bytes()).isEqualTo(page.getBytes(StandardCharsets.UTF_8).length);
    }

    @Test
    void rejectsBadInput() {
        assertThatThrownBy(() -> handler.handle(null, null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> handler.handle(new TemplateWorkload.Input(-1, 2, null, null), null))
                .hasMessageContaining("rows");
    }
}
