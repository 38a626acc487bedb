package dev.thaw.store;

import java.util.List;
import java.util.Optional;

/**
 * What a snapshot is: its image files, each a list of chunk references. A manifest holds plaintext
 * chunk hashes, so it is stored encrypted; it never holds keys.
 *
 * @param format the manifest format version
 * @param snapshotId the snapshot's id
 * @param createdMillis when the snapshot was stored, in milliseconds since the epoch
 * @param chunkSize the chunk size the files were cut with
 * @param plainChunks whether the chunks are stored unencrypted (a benchmark setting; false by default
 *     and in manifests written before the setting existed)
 * @param files the image files, sorted by name
 */
public record SnapshotManifest(int format, String snapshotId, long createdMillis, int chunkSize, boolean plainChunks,
                               List<ImageFile> files) {
    /** The manifest format this version writes and reads. */
    public static final int FORMAT = 1;

    /** Copies {@code files} so that the record is immutable. */
    public SnapshotManifest {
        files = List.copyOf(files);
    }

    /** @return the file named {@code name}, if the snapshot has one */
    public Optional<ImageFile> file(String name) {
        return files.stream().filter(f -> f.name().equals(name)).findFirst();
    }

    /** @return the sum of the files' sizes */
    public long totalBytes() {
        return files.stream().mapToLong(ImageFile::size).sum();
    }
}
