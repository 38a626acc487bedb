package dev.thaw.sandbox;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Copies a scratch tree the way CRIU needs it restored: regular files, directories and symbolic
 * links with their owner, group, mode (set-id bits included), size and modification time.
 * Sockets, FIFOs and device nodes are skipped (a socket's file is made again by CRIU when it
 * restores the socket; a scratch has no device nodes: it is mounted nodev).
 */
final class TreeCopy {
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

    private TreeCopy() {
    }

    /** Copies the contents of {@code from} into the existing directory {@code to}; also {@code from}'s own attributes. */
    static void copy(Path from, Path to) throws IOException {
        Deque<Path[]> directories = new ArrayDeque<>();
        Files.walkFileTree(from, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                Path target = to.resolve(from.relativize(dir).toString());
                if (!dir.equals(from)) {
                    Files.createDirectory(target);
                }
                directories.push(new Path[] {dir, target});
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Path target = to.resolve(from.relativize(file).toString());
                if (attrs.isRegularFile()) {
                    Files.copy(file, target, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
                    own(file, target);
                } else if (attrs.isSymbolicLink()) {
                    Files.createSymbolicLink(target, Files.readSymbolicLink(file));
                    own(file, target);
                }
                return FileVisitResult.CONTINUE;
            }
        });
        // directories last, deepest first: copying into them changed their times
        while (!directories.isEmpty()) {
            Path[] pair = directories.pop();
            own(pair[0], pair[1]);
            Files.setLastModifiedTime(pair[1], Files.getLastModifiedTime(pair[0], NOFOLLOW));
        }
    }

    /** Owner and group first (chown clears set-id bits), then the mode. */
    private static void own(Path source, Path target) throws IOException {
        Files.setAttribute(target, "unix:uid", Files.getAttribute(source, "unix:uid", NOFOLLOW), NOFOLLOW);
        Files.setAttribute(target, "unix:gid", Files.getAttribute(source, "unix:gid", NOFOLLOW), NOFOLLOW);
        if (!Files.isSymbolicLink(target)) {
            Files.setAttribute(target, "unix:mode", Files.getAttribute(source, "unix:mode", NOFOLLOW));
            FileTime modified = Files.getLastModifiedTime(source, NOFOLLOW);
            Files.setLastModifiedTime(target, modified);
        }
    }
}
