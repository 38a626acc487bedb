package dev.thaw.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** Deletes directory trees: the node's working copies and scratch directories, the benchmarks' data. */
public final class FileTrees {
    private FileTrees() {
    }

    /**
     * Deletes {@code dir} and everything under it; nothing if it does not exist.
     *
     * @throws UncheckedIOException naming the tree if part of it could not be deleted
     */
    public static void delete(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            List<Path> deepestFirst = walk.sorted(Comparator.reverseOrder()).toList();
            for (Path p : deepestFirst) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Deletes {@code dir} as {@link #delete} does, for callers with nobody to report a leftover to
     * (it is cleaned up by the next use of the same place).
     *
     * @return whether the tree is gone
     */
    public static boolean deleteQuietly(Path dir) {
        try {
            delete(dir);
            return true;
        } catch (UncheckedIOException e) {
            return false;
        }
    }
}
