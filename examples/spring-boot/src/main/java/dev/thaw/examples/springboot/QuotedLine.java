package dev.thaw.examples.springboot;

/**
 * One priced line of a {@link Quote}.
 *
 * @param sku the product's SKU
 * @param name the product's name
 * @param quantity how many
 * @param unitCents the unit price in cents
 * @param subtotalCents quantity times unit price
 */
public record QuotedLine(String sku, String name, int quantity, long unitCents, long subtotalCents) {
}
