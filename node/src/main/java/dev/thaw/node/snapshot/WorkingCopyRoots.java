package dev.thaw.node.snapshot;

import dev.thaw.core.FileTrees;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/*
 * A node keeps its snapshots' working copies on tmpfs (/dev/shm/thaw-<key of its data directory>),
 * outside its data directory, so that they outlive the node's process: a node restarted on the
 * same data directory restores from them at once. A data directory deleted while its node is
 * stopped (a test's or a benchmark's temporary one, an operator's rm -rf) would leave its working
 * copies in memory for good. So each root names its data directory in a marker file, and every
 * node removes, when it starts, the roots of data directories that no longer exist. A root without
 * a marker is left alone: nothing says whose it is.
 */
/** The working-copy roots of data directories that are gone, and their markers (see the comment above). */
public final class WorkingCopyRoots {
    /** The marker in each root: the absolute path of its data directory. */
    static final String MARKER = ".data-dir";
    /** What every root's name starts with. */
    static final String PREFIX = "thaw-";

    private WorkingCopyRoots() {
    }

    /** Names {@code dataDir} in {@code root}'s marker. */
    public static void mark(Path root, Path dataDir) throws IOException {
        Files.createDirectories(root);
        Files.writeString(root.resolve(MARKER), dataDir.toAbsolutePath().normalize().toString(), StandardCharsets.UTF_8);
    }

    /**
     * Removes the roots under {@code parent} whose marker names a data directory that does not exist.
     *
     * @return the roots removed
     */
    public static List<Path> sweepOrphans(Path parent) {
        List<Path> removed = new ArrayList<>();
        if (!Files.isDirectory(parent)) {
            return removed;
        }
        try (DirectoryStream<Path> roots = Files.newDirectoryStream(parent, PREFIX + "*")) {
            for (Path root : roots) {
                Path marker = root.resolve(MARKER);
                if (!Files.isRegularFile(marker)) {
                    continue;
                }
                String dataDir = Files.readString(marker, StandardCharsets.UTF_8).strip();
                if (!dataDir.isEmpty() && !Files.isDirectory(Path.of(dataDir)) && FileTrees.deleteQuietly(root)) {
                    removed.add(root);
                }
            }
        } catch (IOException | RuntimeException e) {
            // a root that cannot be read is left for the next start
        }
        return removed;
    }
}
