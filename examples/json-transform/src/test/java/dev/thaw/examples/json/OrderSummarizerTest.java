package dev.thaw.examples.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.util.List;
import org.junit.jupiter.api.Test;

class OrderSummarizerTest {

    private final OrderSummarizer summarizer = new OrderSummarizer();

    @Test
    void summarizesAnOrder() {
        Order order = new Order("o-1", "Ada", "EUR", List.of(
                new Line("pen", 3, new BigDecimal("1.50")),
                new Line("book", 1, new BigDecimal("12.00")),
                new Line("ink", 2, new BigDecimal("6.00"))));

        Summary summary = summarizer.apply(order);

        assertThat(summary.orderId()).isEqualTo("o-1");
        assertThat(summary.customer()).isEqualTo("Ada");
        assertThat(summary.itemCount()).isEqualTo(6);
        assertThat(summary.total()).isEqualByComparingTo("28.50");
        assertThat(summary.currency()).isEqualTo("EUR");
        assertThat(summary.largestLineSku()).isEqualTo("book"); // 12.00 ties with ink, book comes first
        assertThat(summary.skus()).containsExactly("book", "ink", "pen");
    }

    @Test
    void rejectsBadOrders() {
        assertThatThrownBy(() -> summarizer.apply(new Order("o-2", "Ada", "EUR", List.of())))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("order o-2 has no lines");
        assertThatThrownBy(() -> summarizer.apply(new Order("o-3", "Ada", "EUR", null)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("order o-3 has no lines");
        assertThatThrownBy(() -> summarizer.apply(new Order("o-4", "Ada", "EUR",
                List.of(new Line("pen", 1, BigDecimal.ONE), new Line("ink", -2, BigDecimal.TEN)))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("order o-4 line 1 (ink) has a negative quantity: -2");
        assertThatThrownBy(() -> summarizer.apply(null)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void roundTripsThroughJacksonAsTheRuntimeDoes() throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        String event = """
                {"id":"o-9","customer":"Grace","currency":"USD",
                 "lines":[{"sku":"b","quantity":2,"unitPrice":19.99},{"sku":"a","quantity":1,"unitPrice":0.02}]}
                """;

        Summary summary = summarizer.apply(mapper.readValue(event, Order.class));
        JsonNode json = mapper.readTree(mapper.writeValueAsString(summary));

        assertThat(json.get("total").decimalValue()).isEqualByComparingTo("40.00");
        assertThat(json.get("itemCount").asInt()).isEqualTo(3);
        assertThat(json.get("largestLineSku").asText()).isEqualTo("b");
        assertThat(json.get("skus").toString()).isEqualTo("[\"a\",\"b\"]");
    }
}
