package dev.thaw.criu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The library install-criu.sh preloads into CRIU (src/main/c/thaw-criu-preload.c), built here as
 * the script builds it and loaded into a small program that behaves as CRIU does: it registers an
 * exit handler, forks a helper that calls exit(), and exits itself.
 */
class PreloadTest {
    private static final String PROBE = """
            #include <stdio.h>
            #include <stdlib.h>
            #include <sys/wait.h>
            #include <unistd.h>
            static pid_t first;
            static void handler(void) { printf("handler in %s\\n", getpid() == first ? "first" : "helper"); }
            int main(void) {
                first = getpid();
                atexit(handler);
                printf("buffered ");
                pid_t helper = fork();
                if (helper == 0) {
                    printf("helper ends\\n");
                    exit(3);
                }
                int status;
                waitpid(helper, &status, 0);
                printf("helper status %d\\n", WEXITSTATUS(status));
                exit(5);
            }
            """;

    @TempDir
    static Path dir;

    @BeforeAll
    static void build() throws Exception {
        assumeTrue(run(List.of("gcc", "--version"), List.of()).exit == 0, "gcc is not installed");
        Path source = Path.of("src/main/c/thaw-criu-preload.c").toAbsolutePath();
        assertThat(run(List.of("gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-o",
                dir.resolve("preload.so").toString(), source.toString(), "-ldl"), List.of()).exit).isZero();
        Files.writeString(dir.resolve("probe.c"), PROBE);
        assertThat(run(List.of("gcc", "-O2", "-o", dir.resolve("probe").toString(), dir.resolve("probe.c").toString()),
                List.of()).exit).isZero();
    }

    @Test
    void aForkedHelperEndsWithoutExitHandlersButWithItsStatusAndItsBufferedOutput() throws Exception {
        Result r = run(List.of(dir.resolve("probe").toString()), List.of("LD_PRELOAD=" + dir.resolve("preload.so")));

        assertThat(r.output).contains("buffered helper ends\n").contains("helper status 3\n").doesNotContain("handler in helper");
        assertThat(r.exit).isEqualTo(5);
    }

    @Test
    void theFirstProcessStillRunsItsExitHandlers() throws Exception {
        Result r = run(List.of(dir.resolve("probe").toString()), List.of("LD_PRELOAD=" + dir.resolve("preload.so")));

        assertThat(r.output).endsWith("buffered helper status 3\nhandler in first\n");
    }

    @Test
    void withoutThePreloadTheHelperRunsTheHandlersItInherited() throws Exception {
        Result r = run(List.of(dir.resolve("probe").toString()), List.of());

        assertThat(r.output).contains("handler in helper").contains("handler in first");
        assertThat(r.exit).isEqualTo(5);
    }

    private record Result(int exit, String output) {
    }

    private static Result run(List<String> command, List<String> environment) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true);
        for (String e : environment) {
            int eq = e.indexOf('=');
            pb.environment().put(e.substring(0, eq), e.substring(eq + 1));
        }
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            return new Result(-1, e.getMessage());
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out);
    }
}
