package dev.thaw.bench;

import java.nio.file.Files;
import java.nio.file.Path;

/** Helpers of the {@code thaw bench run} command line: loading a config with overrides, finding the repository. */
public final class BenchRunSupport {
    private BenchRunSupport() {
    }

    /** Reads and validates the file, then applies the flags that are not null. */
    public static RunConfig load(Path file, String url, Long seed, Integer requests, Integer concurrency) {
        RunConfig config = RunConfig.read(file);
        if (url == null && seed == null && requests == null && concurrency == null) {
            return config;
        }
        return config.withOverrides(url, seed, requests, concurrency);
    }

    /** @return the nearest directory above the config holding {@code .git} or a {@code thaw} script, else the cwd */
    public static Path repoRootOf(Path config) {
        for (Path d = config.toAbsolutePath().getParent(); d != null; d = d.getParent()) {
            if (Files.exists(d.resolve(".git")) || Files.isRegularFile(d.resolve("thaw"))) {
                return d;
            }
        }
        return Path.of("").toAbsolutePath();
    }
}
