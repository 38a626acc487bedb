package dev.thaw.examples.springboot;

import jakarta.validation.ConstraintViolation;
import jakarta.validation.Validator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/** Prices a {@link QuoteRequest} against the product catalog. */
@Service
public class QuoteService {

    private final ProductRepository products;
    private final Validator validator;

    /**
     * @param products the catalog
     * @param validator the Jakarta validator Spring Boot configures
     */
    public QuoteService(ProductRepository products, Validator validator) {
        this.products = products;
        this.validator = validator;
    }

    /**
     * Validates and prices a request.
     *
     * @param request the request
     * @return the quote, lines in request order
     * @throws IllegalArgumentException listing every violation, or naming the unknown SKUs
     */
    @Transactional(readOnly = true)
    public Quote quote(QuoteRequest request) {
        validate(request);
        Set<String> skus = request.lines().stream().map(QuoteLine::sku).collect(Collectors.toSet());
        Map<String, Product> bySku = products.findBySkuIn(skus).stream()
                .collect(Collectors.toMap(Product::getSku, Function.identity()));
        Set<String> unknown = new TreeSet<>(skus);
        unknown.removeAll(bySku.keySet());
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("unknown sku(s): " + String.join(", ", unknown));
        }
        List<QuotedLine> lines = request.lines().stream().map(l -> price(l, bySku.get(l.sku()))).toList();
        long total = lines.stream().mapToLong(QuotedLine::subtotalCents).reduce(0, Math::addExact);
        return new Quote(request.customer(), lines, total);
    }

    private static QuotedLine price(QuoteLine line, Product product) {
        long subtotal = Math.multiplyExact(product.getPriceCents(), line.quantity());
        return new QuotedLine(product.getSku(), product.getName(), line.quantity(), product.getPriceCents(), subtotal);
    }

    private void validate(QuoteRequest request) {
        if (request == null) {
            throw new IllegalArgumentException("invalid quote request: the event must be an object, got null");
        }
        Set<ConstraintViolation<QuoteRequest>> violations = validator.validate(request);
        if (!violations.isEmpty()) {
            // Sorted, so the message is the same on every run.
            String listed = violations.stream()
                    .map(v -> v.getPropertyPath() + " " + v.getMessage())
                    .sorted()
                    .collect(Collectors.joining("; "));
            throw new IllegalArgumentException("invalid quote request: " + listed);
        }
    }
}
