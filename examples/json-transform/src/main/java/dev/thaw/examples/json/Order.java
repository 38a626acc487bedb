package dev.thaw.examples.json;

import java.util.List;

/**
 * An order as it arrives in the event.
 *
 * @param id the order id
 * @param customer who placed it
 * @param currency ISO currency code of all prices
 * @param lines the ordered items; must not be empty
 */
public record Order(String id, String customer, String currency, List<Line> lines) {
}
