package dev.thaw.examples.json;

import java.math.BigDecimal;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;

/**
 * Summarizes an order: item count, total, largest line and the sorted SKUs.
 * Handler: {@code dev.thaw.examples.json.OrderSummarizer::apply}.
 *
 * <p>Rejects an order without lines, a line with a negative quantity or a missing price with an
 * {@link IllegalArgumentException}, which the caller sees as a function error.
 */
public class OrderSummarizer implements Function<Order, Summary> {

    /** Creates the summarizer; it keeps no state. */
    public OrderSummarizer() {
    }

    @Override
    public Summary apply(Order order) {
        validate(order);
        List<Line> lines = order.lines();
        int itemCount = lines.stream().mapToInt(Line::quantity).sum();
        BigDecimal total = lines.stream().map(Line::subtotal).reduce(BigDecimal.ZERO, BigDecimal::add);
        List<String> skus = lines.stream().map(Line::sku).distinct().sorted().toList();
        return new Summary(order.id(), order.customer(), itemCount, total, order.currency(),
                largestLine(lines).sku(), skus);
    }

    private static Line largestLine(List<Line> lines) {
        // max() keeps the last of equal elements, so reduce by hand to keep the first on a tie.
        Comparator<Line> bySubtotal = Comparator.comparing(Line::subtotal);
        return lines.stream().reduce((a, b) -> bySubtotal.compare(b, a) > 0 ? b : a).orElseThrow();
    }

    private static void validate(Order order) {
        if (order == null) {
            throw new IllegalArgumentException("the event must be an order object, got null");
        }
        if (order.lines() == null || order.lines().isEmpty()) {
            throw new IllegalArgumentException("order " + order.id() + " has no lines");
        }
        for (int i = 0; i < order.lines().size(); i++) {
            validateLine(order, i);
        }
    }

    private static void validateLine(Order order, int index) {
        Line line = order.lines().get(index);
        String where = "order " + order.id() + " line " + index;
        if (line == null) {
            throw new IllegalArgumentException(where + " is null");
        }
        if (line.sku() == null || line.sku().isBlank()) {
            throw new IllegalArgumentException(where + " has no sku");
        }
        if (line.quantity() < 0) {
            throw new IllegalArgumentException(where + " (" + line.sku() + ") has a negative quantity: "
                    + line.quantity());
        }
        if (line.unitPrice() == null) {
            throw new IllegalArgumentException(where + " (" + line.sku() + ") has no unitPrice");
        }
    }
}
