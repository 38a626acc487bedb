package dev.thaw.sandbox;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Function identities: the n-th function named on this node gets host ids {@code base + 2n}
 * (inside root) and {@code base + 2n + 1} (the function's user), for uid and gid alike. The
 * allocation is saved ({@code identities.properties}: name = n, written to a temporary file and
 * renamed) before an identity is handed out, and never undone: a deleted function's ids are not
 * given to the next one, which might otherwise find files of the old one.
 */
final class Identities {
    private final Path file;
    private final long base;
    private final int max;
    private final Map<String, Integer> allocated = new HashMap<>();

    Identities(Path file, long base, int max) {
        this.file = file;
        this.base = base;
        this.max = max;
        if (Files.exists(file)) {
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                p.load(r);
            } catch (IOException e) {
                throw new SandboxException("cannot read the function identities " + file + ": " + e.getMessage(), e);
            }
            p.forEach((k, v) -> allocated.put((String) k, Integer.parseInt(((String) v).strip())));
        }
    }

    /**
     * Refuses a range that a user or group of this host is in.
     *
     * @throws SandboxException naming the account
     */
    static void checkRange(long base, int max, Path passwd, Path group) {
        long end = base + 2L * max;
        for (Path file : List.of(passwd, group)) {
            if (!Files.exists(file)) {
                continue;
            }
            try {
                for (String line : Files.readAllLines(file)) {
                    String[] f = line.split(":");
                    if (f.length > 2 && f[2].matches("\\d+")) {
                        long id = Long.parseLong(f[2]);
                        if (id >= base && id < end) {
                            throw new SandboxException(file + " has " + f[0] + " with id " + id + ", inside the range of function ids "
                                    + base + "-" + (end - 1) + ": configure another base");
                        }
                    }
                }
            } catch (IOException e) {
                throw new SandboxException("cannot read " + file + ": " + e.getMessage(), e);
            }
        }
    }

    synchronized FunctionIdentity of(String function) {
        Integer n = allocated.get(function);
        if (n == null) {
            n = allocated.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
            if (n >= max) {
                throw new SandboxException("no function identity left: " + max + " are allocated");
            }
            allocated.put(function, n);
            try {
                save();
            } catch (IOException e) {
                allocated.remove(function);
                throw new SandboxException("cannot save the function identities " + file + ": " + e.getMessage(), e);
            }
        }
        long root = base + 2L * n;
        return new FunctionIdentity(function, root, root, root + 1, root + 1);
    }

    private void save() throws IOException {
        Properties p = new Properties();
        allocated.forEach((k, v) -> p.setProperty(k, Integer.toString(v)));
        Path tmp = Files.createTempFile(file.getParent(), ".identities", ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            p.store(w, "thaw function identities: name = n, host ids base+2n (inside root) and base+2n+1 (the function)");
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
