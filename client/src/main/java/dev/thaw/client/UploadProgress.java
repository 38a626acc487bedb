package dev.thaw.client;

/**
 * Hears how far an upload has come ({@link ThawClient#deploy(dev.thaw.core.FunctionManifest,
 * java.nio.file.Path, UploadProgress)}), as the HTTP client takes the request body to send it.
 * Called from the HTTP client's threads, often (every few KiB): keep it cheap.
 */
@FunctionalInterface
public interface UploadProgress {
    /** Reports nothing. */
    UploadProgress NONE = (sent, total) -> { };

    /**
     * @param sent bytes of the request body handed to the connection so far
     * @param total the request body's size (the code, base64-encoded, and the manifest)
     */
    void sent(long sent, long total);
}
