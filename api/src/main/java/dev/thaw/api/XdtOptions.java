package dev.thaw.api;

import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * How a put's data may be read: how many times, for how long, by which functions, and whether it
 * survives the loss of the node that holds it. Immutable; each {@code with} method returns a copy.
 *
 * <pre>{@code
 * XdtOptions.defaults()                        // 1 read, 5 minutes, any function, not durable
 * XdtOptions.defaults().reads(16)              // fan-out: 16 consumers read the same reference
 *           .ttl(Duration.ofMinutes(1))
 *           .readers("resize", "thumbnail")   // only these functions may read it
 *           .durable(true)                     // also written to S3 in the background
 * }</pre>
 */
public final class XdtOptions {
    /** Reads a reference allows by default. */
    public static final int DEFAULT_READS = 1;
    /** The most reads a reference may allow. */
    public static final int MAX_READS = 10_000;
    /** Time to live by default. */
    public static final Duration DEFAULT_TTL = Duration.ofMinutes(5);
    /**
     * The longest time to live a reference may ask for; a node may allow less ({@code thaw up
     * --xdt-max-ttl-s}, one hour by default) and refuses a put that asks for more.
     */
    public static final Duration MAX_TTL = Duration.ofHours(24);
    /** The most functions a reference may name as its readers. */
    public static final int MAX_READERS = 32;

    private static final Pattern FUNCTION_NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final XdtOptions DEFAULTS = new XdtOptions(DEFAULT_READS, DEFAULT_TTL, Set.of(), false);

    private final int reads;
    private final Duration ttl;
    private final Set<String> readers;
    private final boolean durable;

    private XdtOptions(int reads, Duration ttl, Set<String> readers, boolean durable) {
        this.reads = reads;
        this.ttl = ttl;
        this.readers = readers;
        this.durable = durable;
    }

    /** @return one read, 5 minutes, any reader, not durable */
    public static XdtOptions defaults() {
        return DEFAULTS;
    }

    /**
     * @param n how many reads the reference allows (1 to {@value #MAX_READS}); N consumers of a
     *     fan-out each read it once
     * @throws IllegalArgumentException naming the value when out of range
     */
    public XdtOptions reads(int n) {
        if (n < 1 || n > MAX_READS) {
            throw new IllegalArgumentException("reads must be 1.." + MAX_READS + ", not " + n);
        }
        return new XdtOptions(n, ttl, readers, durable);
    }

    /**
     * @param value how long the reference may be read (more than 0, at most {@link #MAX_TTL});
     *     its buffer is freed when it expires, read or not
     * @throws IllegalArgumentException naming the value when out of range
     */
    public XdtOptions ttl(Duration value) {
        Objects.requireNonNull(value, "ttl");
        if (value.isNegative() || value.isZero() || value.compareTo(MAX_TTL) > 0) {
            throw new IllegalArgumentException("ttl must be more than 0 and at most " + MAX_TTL + ", not " + value);
        }
        return new XdtOptions(reads, value, readers, durable);
    }

    /**
     * @param functions the only functions whose instances may read the reference (none: any
     *     function); names as deployed, 1-64 of letters, digits, {@code _} and {@code -}
     * @throws IllegalArgumentException naming a bad name, or when there are more than {@value #MAX_READERS}
     */
    public XdtOptions readers(String... functions) {
        TreeSet<String> names = new TreeSet<>();
        for (String f : Arrays.asList(functions)) {
            if (f == null || !FUNCTION_NAME.matcher(f).matches()) {
                throw new IllegalArgumentException("not a function name: '" + f
                        + "' (1-64 letters, digits, _ or -)");
            }
            names.add(f);
        }
        if (names.size() > MAX_READERS) {
            throw new IllegalArgumentException("at most " + MAX_READERS + " readers, not " + names.size());
        }
        return new XdtOptions(reads, ttl, Collections.unmodifiableSet(names), durable);
    }

    /**
     * @param value whether the data is also written to the node's S3 store in the background, so
     *     that a consumer still gets it when the producer's node is gone (default false: the data
     *     lives and dies with that node)
     */
    public XdtOptions durable(boolean value) {
        return new XdtOptions(reads, ttl, readers, value);
    }

    /** @return how many reads the reference allows */
    public int reads() {
        return reads;
    }

    /** @return how long the reference may be read */
    public Duration ttl() {
        return ttl;
    }

    /** @return the functions that may read it, sorted; empty when any function may */
    public Set<String> readers() {
        return readers;
    }

    /** @return whether the data is also written through to S3 */
    public boolean durable() {
        return durable;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof XdtOptions x && x.reads == reads && x.ttl.equals(ttl) && x.readers.equals(readers)
                && x.durable == durable;
    }

    @Override
    public int hashCode() {
        return Objects.hash(reads, ttl, readers, durable);
    }

    @Override
    public String toString() {
        return "XdtOptions[reads=" + reads + ", ttl=" + ttl + ", readers=" + (readers.isEmpty() ? "any" : readers)
                + ", durable=" + durable + "]";
    }
}
