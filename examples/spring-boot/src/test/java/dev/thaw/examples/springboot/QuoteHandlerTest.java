package dev.thaw.examples.springboot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class QuoteHandlerTest {

    private static QuoteHandler handler;

    @BeforeAll
    static void init() {
        long start = System.nanoTime();
        handler = new QuoteHandler();
        long ms = (System.nanoTime() - start) / 1_000_000;
        // The number the snapshot saves on every cold start; the task report quotes it.
        System.out.println("new QuoteHandler() took " + ms + " ms (Spring Boot context start)");
    }

    @Test
    void pricesAQuote() {
        Quote quote = handler.apply(new QuoteRequest("Ada", List.of(
                new QuoteLine("PEN-BLK", 3), new QuoteLine("STAPLER", 1), new QuoteLine("PAPER-A4", 2))));

        assertThat(quote.customer()).isEqualTo("Ada");
        assertThat(quote.lines()).containsExactly(
                new QuotedLine("PEN-BLK", "Black pen", 3, 150, 450),
                new QuotedLine("STAPLER", "Stapler", 1, 1299, 1299),
                new QuotedLine("PAPER-A4", "A4 paper, 500 sheets", 2, 749, 1498));
        assertThat(quote.totalCents()).isEqualTo(450 + 1299 + 1498);
    }

    @Test
    void listsEveryViolation() {
        QuoteRequest bad = new QuoteRequest(" ", List.of(new QuoteLine("PEN-BLK", 0), new QuoteLine("", 2)));

        assertThatThrownBy(() -> handler.apply(bad))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("invalid quote request: ")
                .hasMessageContaining("customer ")
                .hasMessageContaining("lines[0].quantity ")
                .hasMessageContaining("lines[1].sku ");
        assertThatThrownBy(() -> handler.apply(new QuoteRequest("Ada", List.of())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("lines ");
    }

    @Test
    void rejectsUnknownSkus() {
        assertThatThrownBy(() -> handler.apply(new QuoteRequest("Ada", List.of(new QuoteLine("NOPE", 1)))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unknown sku(s): NOPE");
    }

    @Test
    void aSecondHandlerSharesTheStartedContext() {
        long start = System.nanoTime();
        QuoteHandler second = new QuoteHandler();

        assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(1_000);
        assertThat(second.apply(new QuoteRequest("Grace", List.of(new QuoteLine("ERASER", 2)))).totalCents())
                .isEqualTo(240);
    }
}
