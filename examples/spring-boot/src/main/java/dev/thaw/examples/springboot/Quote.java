package dev.thaw.examples.springboot;

import java.util.List;

/**
 * What {@link QuoteHandler} returns.
 *
 * @param customer the customer of the request
 * @param lines the priced lines, in request order
 * @param totalCents the sum of the subtotals
 */
public record Quote(String customer, List<QuotedLine> lines, long totalCents) {
}
