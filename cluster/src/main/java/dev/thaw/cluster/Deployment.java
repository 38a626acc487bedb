package dev.thaw.cluster;

/**
 * What a deploy publishes: the function and its code. The version number, the deploying node and
 * the time are added by {@link FunctionRegistry#deploy}.
 *
 * @param name the function's name (the node's rule: 1-64 letters, digits, '_', '-')
 * @param manifest the function's manifest as JSON text, stored as given
 * @param codeHash content hash of the code (for example {@code sha256:...}), for integrity and dedup
 * @param codeSize size of the code in bytes
 * @param codeKey key of the code object in the cluster's S3 bucket
 */
public record Deployment(String name, String manifest, String codeHash, long codeSize, String codeKey) {

    /** Validates every field. */
    public Deployment {
        Checks.function(name);
        Checks.notNull("manifest", manifest);
        if (!dev.thaw.core.Json.isValid(manifest.getBytes(java.nio.charset.StandardCharsets.UTF_8))) {
            throw new IllegalArgumentException("manifest of '" + name + "' is not one JSON value: "
                    + (manifest.length() > 80 ? manifest.substring(0, 80) + "..." : manifest));
        }
        Checks.text("code hash", codeHash);
        Checks.notNegative("code size", codeSize);
        Checks.text("code key", codeKey);
    }
}
