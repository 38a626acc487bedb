package dev.thaw.examples.springboot;

import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.CommandLineRunner;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/** Seeds the in-memory catalog at startup and logs the one startup line. */
@Component
public class CatalogSeeder implements CommandLineRunner {

    private static final Logger LOG = LoggerFactory.getLogger(CatalogSeeder.class);

    /** The seeded catalog; tests and the README refer to these SKUs and prices. */
    static final List<Product> CATALOG = List.of(
            new Product("PEN-BLK", "Black pen", 150),
            new Product("PEN-RED", "Red pen", 150),
            new Product("PENCIL-HB", "HB pencil", 80),
            new Product("ERASER", "Eraser", 120),
            new Product("RULER-30", "30 cm ruler", 299),
            new Product("NOTEBOOK-A5", "A5 notebook", 450),
            new Product("NOTEBOOK-A4", "A4 notebook", 650),
            new Product("STAPLER", "Stapler", 1299),
            new Product("STAPLES", "Box of 1000 staples", 349),
            new Product("CLIPS", "Paper clips, 100", 199),
            new Product("TAPE", "Clear tape", 225),
            new Product("SCISSORS", "Scissors", 899),
            new Product("GLUE", "Glue stick", 175),
            new Product("MARKER-SET", "Set of 8 markers", 1099),
            new Product("HIGHLIGHTER", "Highlighter", 189),
            new Product("FOLDER", "Cardboard folder", 95),
            new Product("BINDER", "Ring binder", 599),
            new Product("PAPER-A4", "A4 paper, 500 sheets", 749),
            new Product("ENVELOPES", "Envelopes, 50", 549),
            new Product("CALCULATOR", "Desk calculator", 2499));

    private final ProductRepository products;

    /**
     * @param products where to store the catalog
     */
    public CatalogSeeder(ProductRepository products) {
        this.products = products;
    }

    @Override
    public void run(String... args) {
        // Copies, because the CATALOG entries are shared constants and saving would assign their ids.
        products.saveAll(CATALOG.stream()
                .map(p -> new Product(p.getSku(), p.getName(), p.getPriceCents()))
                .toList());
    }

    /**
     * Logs the single startup line, with the time Spring took.
     *
     * @param ready the event Spring publishes once runners have run
     */
    @EventListener
    public void onReady(ApplicationReadyEvent ready) {
        LOG.info("quote service ready: {} products, Spring started in {} ms",
                products.count(), ready.getTimeTaken().toMillis());
    }
}
