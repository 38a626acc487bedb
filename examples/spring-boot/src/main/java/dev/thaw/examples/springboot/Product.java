package dev.thaw.examples.springboot;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;

/** A product in the catalog, priced in cents. */
@Entity
public class Product {

    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    private Long id;

    @Column(nullable = false, unique = true)
    private String sku;

    @Column(nullable = false)
    private String name;

    private long priceCents;

    /** For JPA. */
    protected Product() {
    }

    /**
     * Creates a product not yet saved.
     *
     * @param sku the stock-keeping unit, unique
     * @param name the display name
     * @param priceCents the unit price in cents
     */
    public Product(String sku, String name, long priceCents) {
        this.sku = sku;
        this.name = name;
        this.priceCents = priceCents;
    }

    /** @return the database id, null before saving */
    public Long getId() {
        return id;
    }

    /** @return the stock-keeping unit */
    public String getSku() {
        return sku;
    }

    /** @return the display name */
    public String getName() {
        return name;
    }

    /** @return the unit price in cents */
    public long getPriceCents() {
        return priceCents;
    }
}
