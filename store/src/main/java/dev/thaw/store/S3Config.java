package dev.thaw.store;

import java.net.URI;
import java.util.Objects;

/**
 * Where the S3-compatible tier lives. {@link #toString()} never shows the secret key.
 *
 * @param endpoint the service's URI, e.g. {@code http://127.0.0.1:9000}; {@code null} for AWS's own endpoints
 * @param region the signing region
 * @param bucket the bucket (created if missing)
 * @param keyPrefix prepended to every object key, may be empty
 * @param accessKey the access key id
 * @param secretKey the secret access key
 */
public record S3Config(URI endpoint, String region, String bucket, String keyPrefix, String accessKey, String secretKey) {
    /** Validates the fields. */
    public S3Config {
        Objects.requireNonNull(region, "region");
        Objects.requireNonNull(bucket, "bucket");
        Objects.requireNonNull(accessKey, "accessKey");
        Objects.requireNonNull(secretKey, "secretKey");
        keyPrefix = keyPrefix == null ? "" : keyPrefix;
        if (!bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
            throw new IllegalArgumentException("not a valid S3 bucket name: '" + bucket + "'");
        }
    }

    /** @return the same configuration with another bucket */
    public S3Config withBucket(String otherBucket) {
        return new S3Config(endpoint, region, otherBucket, keyPrefix, accessKey, secretKey);
    }

    @Override
    public String toString() {
        return "S3Config[endpoint=" + endpoint + ", region=" + region + ", bucket=" + bucket + ", keyPrefix=" + keyPrefix
                + ", accessKey=" + accessKey + ", secretKey=***]";
    }
}
