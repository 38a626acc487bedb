package dev.thaw.examples.springboot;

import jakarta.validation.Valid;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import java.util.List;

/**
 * The event {@link QuoteHandler} takes.
 *
 * @param customer who asks, not blank
 * @param lines what they ask for, not empty
 */
public record QuoteRequest(@NotBlank String customer, @NotEmpty List<@NotNull @Valid QuoteLine> lines) {
}
