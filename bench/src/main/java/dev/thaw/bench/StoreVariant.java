package dev.thaw.bench;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A node configuration the restore benchmark runs: the snapshot store's chunking and encryption, and
 * whether instances run in sandboxes.
 *
 * @param chunkKib chunk size in KiB
 * @param encryption whether chunks are encrypted
 * @param sandbox whether the node runs its instances in sandboxes (as {@code thaw up} does by default)
 */
public record StoreVariant(int chunkKib, boolean encryption, boolean sandbox) {
    private static final Pattern SPEC = Pattern.compile("(enc|plain)-(\\d+)(k|m)(-nosandbox)?");

    public StoreVariant(int chunkKib, boolean encryption) {
        this(chunkKib, encryption, true);
    }

    /** Checks the chunk size is a whole number of pages. */
    public StoreVariant {
        if (chunkKib < 4 || chunkKib % 4 != 0) {
            throw new IllegalArgumentException("chunk size must be a multiple of 4 KiB, not " + chunkKib + " KiB");
        }
    }

    /**
     * Parses {@code enc-512k}, {@code plain-64k}, {@code enc-2m}, each optionally followed by
     * {@code -nosandbox} (the node runs instances without sandboxes, as {@code thaw up --no-sandbox}).
     *
     * @throws IllegalArgumentException naming what is wrong
     */
    public static StoreVariant parse(String spec) {
        Matcher m = SPEC.matcher(spec.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("store variant '" + spec + "' is not of the form enc-512k, plain-64k or enc-2m, optionally followed by -nosandbox");
        }
        int size = Integer.parseInt(m.group(2)) * (m.group(3).equals("m") ? 1024 : 1);
        return new StoreVariant(size, m.group(1).equals("enc"), m.group(4) == null);
    }

    /** @return the label tables and CSV files use, e.g. {@code enc-512k} */
    public String label() {
        String size = chunkKib % 1024 == 0 ? (chunkKib / 1024) + "m" : chunkKib + "k";
        return (encryption ? "enc-" : "plain-") + size + (sandbox ? "" : "-nosandbox");
    }

    @Override
    public String toString() {
        return label();
    }
}
