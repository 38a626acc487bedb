package dev.thaw.examples.json;

import java.math.BigDecimal;

/**
 * One order line.
 *
 * @param sku the item ordered
 * @param quantity how many; must not be negative
 * @param unitPrice price of one item in the order's currency
 */
public record Line(String sku, int quantity, BigDecimal unitPrice) {

    /** @return quantity times unit price */
    public BigDecimal subtotal() {
        return unitPrice.multiply(BigDecimal.valueOf(quantity));
    }
}
