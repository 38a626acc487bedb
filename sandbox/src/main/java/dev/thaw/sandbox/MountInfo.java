package dev.thaw.sandbox;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The mounts of a mount namespace, as {@code /proc/PID/mountinfo} lists them. */
final class MountInfo {

    /**
     * One mount.
     *
     * @param root the directory of its file system it shows (a bind mount's source within it)
     * @param mountPoint where it is mounted
     * @param type the file system type
     * @param superOptions the file system's options (a v1 cgroup's controllers are among them)
     */
    record Mount(String root, Path mountPoint, String type, String superOptions) {
    }

    private MountInfo() {
    }

    /** @return this process's mounts */
    static List<Mount> read() {
        try {
            return parse(Files.readAllLines(Path.of("/proc/self/mountinfo")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Mount> parse(List<String> lines) {
        List<Mount> mounts = new ArrayList<>();
        for (String line : lines) {
            String[] f = line.split(" ");
            int dash = Arrays.asList(f).indexOf("-");
            if (dash < 6 || f.length < dash + 4) {
                continue;
            }
            mounts.add(new Mount(unescape(f[3]), Path.of(unescape(f[4])), f[dash + 1], f[dash + 3]));
        }
        return mounts;
    }

    /** @return the mounts strictly below {@code dir}, deepest first (the order to unmount them in) */
    static List<Path> below(List<Mount> mounts, Path dir) {
        return mounts.stream().map(Mount::mountPoint).filter(p -> p.startsWith(dir) && !p.equals(dir)).distinct()
                .sorted((a, b) -> Integer.compare(b.getNameCount(), a.getNameCount())).toList();
    }

    /** Undoes mountinfo's octal escapes (space, tab, newline, backslash: {@code \040} and so on). */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
