package dev.thaw.examples.springboot;

import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;

/**
 * One requested line of a quote.
 *
 * @param sku the product's SKU
 * @param quantity how many, at least 1
 */
public record QuoteLine(@NotBlank String sku, @Min(1) int quantity) {
}
