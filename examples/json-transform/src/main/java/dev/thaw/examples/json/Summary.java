package dev.thaw.examples.json;

import java.math.BigDecimal;
import java.util.List;

/**
 * What {@link OrderSummarizer} returns.
 *
 * @param orderId the order's id
 * @param customer the order's customer
 * @param itemCount the sum of all line quantities
 * @param total the sum of all line subtotals
 * @param currency the order's currency
 * @param largestLineSku the SKU of the line with the largest subtotal (the first one on a tie)
 * @param skus the distinct SKUs, sorted
 */
public record Summary(String orderId, String customer, int itemCount, BigDecimal total, String currency,
        String largestLineSku, List<String> skus) {
}
