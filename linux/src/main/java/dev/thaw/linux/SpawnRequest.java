package dev.thaw.linux;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What {@link NativeSpawn} starts: a command, its environment, its three standard streams (files
 * opened for it: {@code /proc/self/fd/N} of a pipe end works), descriptors of this process passed
 * on at chosen numbers, and a working directory.
 *
 * @param command the program (an absolute path, or relative to the working directory: no
 *     {@code PATH} search) and its arguments
 * @param environment the child's whole environment
 * @param stdin opened for reading as the child's fd 0
 * @param stdout opened for writing (created, truncated) as the child's fd 1
 * @param stderr opened for writing (created, truncated) as the child's fd 2
 * @param descriptors child fd (3 or more) to the fd of this process it is a duplicate of; every
 *     other descriptor is closed in the child
 * @param directory the child's working directory; empty: this process's
 */
public record SpawnRequest(List<String> command, Map<String, String> environment, Path stdin, Path stdout, Path stderr,
                           Map<Integer, Integer> descriptors, Optional<Path> directory) {

    private static final Path DEV_NULL = Path.of("/dev/null");

    /** Checks and copies the arguments. */
    public SpawnRequest {
        command = List.copyOf(command);
        if (command.isEmpty()) {
            throw new IllegalArgumentException("an empty command");
        }
        environment = Map.copyOf(environment);
        Objects.requireNonNull(stdin, "stdin");
        Objects.requireNonNull(stdout, "stdout");
        Objects.requireNonNull(stderr, "stderr");
        descriptors = Map.copyOf(new TreeMap<>(descriptors));
        descriptors.forEach((child, node) -> {
            if (child < 3 || node < 0) {
                throw new IllegalArgumentException("descriptor " + node + " cannot become the child's fd " + child
                        + ": fds 0-2 are the standard streams, given as files");
            }
        });
        Objects.requireNonNull(directory, "directory");
    }

    /**
     * @param command the program and its arguments
     * @return a builder with this process's environment, {@code /dev/null} for the three streams,
     *     no extra descriptor and this process's working directory
     */
    public static Builder builder(List<String> command) {
        return new Builder(command);
    }

    /** Builds a {@link SpawnRequest}. */
    public static final class Builder {
        private final List<String> command;
        private Map<String, String> environment = System.getenv();
        private Path stdin = DEV_NULL;
        private Path stdout = DEV_NULL;
        private Path stderr = DEV_NULL;
        private final Map<Integer, Integer> descriptors = new TreeMap<>();
        private Optional<Path> directory = Optional.empty();

        private Builder(List<String> command) {
            this.command = new ArrayList<>(command);
        }

        /** @return this, with the child's whole environment replaced by {@code environment} */
        public Builder environment(Map<String, String> environment) {
            this.environment = Map.copyOf(environment);
            return this;
        }

        /** @return this, with fd 0 read from {@code file} */
        public Builder stdin(Path file) {
            this.stdin = Objects.requireNonNull(file);
            return this;
        }

        /** @return this, with fd 1 written to {@code file} */
        public Builder stdout(Path file) {
            this.stdout = Objects.requireNonNull(file);
            return this;
        }

        /** @return this, with fd 2 written to {@code file} */
        public Builder stderr(Path file) {
            this.stderr = Objects.requireNonNull(file);
            return this;
        }

        /** @return this, with this process's {@code nodeFd} passed on as the child's {@code childFd} */
        public Builder descriptor(int childFd, int nodeFd) {
            descriptors.put(childFd, nodeFd);
            return this;
        }

        /** @return this, with every entry of {@code map} (child fd to this process's fd) passed on */
        public Builder descriptors(Map<Integer, Integer> map) {
            descriptors.putAll(map);
            return this;
        }

        /** @return this, with the child started in {@code dir} */
        public Builder directory(Path dir) {
            this.directory = Optional.of(dir);
            return this;
        }

        /** @return the request */
        public SpawnRequest build() {
            return new SpawnRequest(command, environment, stdin, stdout, stderr, descriptors, directory);
        }
    }
}
