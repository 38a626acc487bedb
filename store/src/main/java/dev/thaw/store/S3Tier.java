package dev.thaw.store;

import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.BucketAlreadyOwnedByYouException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/*
 * The S3-compatible tier, through the AWS SDK for Java v2's synchronous client.
 *
 * Path-style addressing (S3Proxy, MinIO and most self-hosted services need it) and checksums only
 * when an operation requires them: since SDK 2.30 the client sends checksum trailers by default,
 * which S3Proxy rejects; integrity is the chunk layer's job anyway (AES-GCM plus the plaintext
 * hash). The SDK makes up to three attempts (a pooled connection may have died with a
 * restarted server); longer outages are the uploader's business, with its own backoff. Connection failures
 * and 5xx answers become StoreException.Unavailable. The bucket is created on first use.
 */
/** The S3-compatible object tier. */
final class S3Tier implements ObjectTier {
    private final S3Client client;
    private final S3Config config;
    private volatile boolean bucketReady;

    S3Tier(S3Config config, Duration callTimeout) {
        this.config = config;
        S3ClientBuilder builder = S3Client.builder()
                .region(Region.of(config.region()))
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(config.accessKey(), config.secretKey())))
                .forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .overrideConfiguration(o -> o.apiCallTimeout(callTimeout).retryStrategy(r -> r.maxAttempts(3)));
        if (config.endpoint() != null) {
            builder.endpointOverride(config.endpoint());
        }
        this.client = builder.build();
    }

    @Override
    public String name() {
        return "s3";
    }

    @Override
    public boolean local() {
        return false;
    }

    @Override
    public void put(String key, byte[] data) {
        call("write " + key, () -> client.putObject(b -> b.bucket(config.bucket()).key(full(key)),
                RequestBody.fromBytes(data)));
    }

    @Override
    public byte[] get(String key) {
        return call("read " + key, () -> {
            // Streamed into an array of the announced length: getObjectAsBytes() would grow a buffer
            // and copy the object three times more, which at restore rates costs more than the GET.
            try (var in = client.getObject(b -> b.bucket(config.bucket()).key(full(key)))) {
                Long length = in.response().contentLength();
                if (length == null || length < 0 || length > Integer.MAX_VALUE - 16) {
                    return in.readAllBytes();
                }
                // readNBytes(int) reads 16 KiB buffers and joins them: read straight into the result instead
                byte[] data = new byte[length.intValue()];
                int read = in.readNBytes(data, 0, data.length);
                if (read != length) {
                    throw new java.io.EOFException("object " + key + " ended after " + read + " of " + length + " bytes");
                }
                return data;
            } catch (NoSuchKeyException e) {
                return null;
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    /** Stores an object streamed from {@code data}, which is asked again for each attempt. */
    void put(String key, Supplier<java.io.InputStream> data, long length) {
        call("write " + key, () -> client.putObject(b -> b.bucket(config.bucket()).key(full(key)).contentLength(length),
                RequestBody.fromContentProvider(data::get, length, "application/octet-stream")));
    }

    /** @return the object's bytes as a stream the caller closes, or null if there is none */
    java.io.InputStream open(String key) {
        return call("read " + key, () -> {
            try {
                return client.getObject(b -> b.bucket(config.bucket()).key(full(key)));
            } catch (NoSuchKeyException e) {
                return null;
            }
        });
    }

    /** @return every object whose key starts with {@code prefix}, whatever its name */
    List<ObjectInfo> listAll(String prefix) {
        return call("list " + prefix, () -> client.listObjectsV2Paginator(b -> b.bucket(config.bucket()).prefix(full(prefix)))
                .contents().stream()
                .map(o -> new ObjectInfo(o.key().substring(config.keyPrefix().length()), o.size(), o.lastModified()))
                .toList());
    }

    @Override
    public boolean exists(String key) {
        return call("look up " + key, () -> {
            try {
                client.headObject(b -> b.bucket(config.bucket()).key(full(key)));
                return true;
            } catch (NoSuchKeyException e) {
                return false;
            } catch (S3Exception e) {
                if (e.statusCode() == 404) {
                    return false;
                }
                throw e;
            }
        });
    }

    @Override
    public void delete(String key) {
        call("delete " + key, () -> client.deleteObject(b -> b.bucket(config.bucket()).key(full(key))));
    }

    @Override
    public List<ObjectInfo> list(String prefix) {
        return call("list " + prefix, () -> client.listObjectsV2Paginator(b -> b.bucket(config.bucket()).prefix(full(prefix)))
                .contents().stream()
                .map(o -> new ObjectInfo(o.key().substring(config.keyPrefix().length()), o.size(), o.lastModified()))
                // Only the store's own names: an S3 server may list an object still being written under a
                // temporary name (S3Proxy's file system backend lists "<name>-<uuid>"), which is neither
                // a manifest to open nor garbage to delete.
                .filter(i -> Names.isObjectKey(i.key()))
                .toList());
    }

    @Override
    public long storedBytes() {
        return -1;
    }

    @Override
    public long capacityBytes() {
        return -1;
    }

    @Override
    public void close() {
        client.close();
    }

    private String full(String key) {
        return config.keyPrefix() + key;
    }

    private <T> T call(String what, Supplier<T> action) {
        try {
            ensureBucket();
            return action.get();
        } catch (SdkClientException e) {
            throw unavailable(what, e);
        } catch (S3Exception e) {
            if (e.statusCode() >= 500) {
                throw unavailable(what, e);
            }
            throw StoreException.internal("S3 tier (bucket " + config.bucket() + ") refused to " + what + ": "
                    + e.awsErrorDetails().errorMessage() + " (HTTP " + e.statusCode() + ")", e);
        } catch (SdkException e) {
            throw unavailable(what, e);
        } catch (java.io.UncheckedIOException e) {
            // the connection broke while the body streamed in
            throw new StoreException.Unavailable("S3 tier at " + (config.endpoint() == null ? "AWS" : config.endpoint())
                    + " broke off while it answered (cannot " + what + "): " + e.getCause().getMessage(), e);
        }
    }

    private StoreException.Unavailable unavailable(String what, SdkException e) {
        return new StoreException.Unavailable("S3 tier at " + (config.endpoint() == null ? "AWS" : config.endpoint())
                + " is unreachable (cannot " + what + "): " + e.getMessage(), e);
    }

    private void ensureBucket() {
        if (bucketReady) {
            return;
        }
        try {
            client.headBucket(b -> b.bucket(config.bucket()));
        } catch (S3Exception e) {
            if (e.statusCode() != 404) {
                throw e;
            }
            try {
                client.createBucket(b -> b.bucket(config.bucket()));
            } catch (BucketAlreadyOwnedByYouException raced) {
                // created concurrently: fine
            }
        }
        bucketReady = true;
    }
}
