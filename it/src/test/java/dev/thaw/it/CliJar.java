package dev.thaw.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The shaded {@code thaw} CLI the reactor built, run as a process of its own. */
final class CliJar {
    static final Path JAR = TestNode.FUNCTIONS.resolve("thaw-cli.jar");
    static final Path CRIU = Path.of(System.getProperty("thaw.criu", ".thaw/criu/bin/criu"));

    private CliJar() {
    }

    /** @return the command that runs {@code thaw ARGS} with this build's runtime and the project's CRIU */
    static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-Dthaw.runtime.jar=" + TestNode.FUNCTIONS.resolve("thaw-runtime.jar").toAbsolutePath(),
                "-Dthaw.criu=" + CRIU.toAbsolutePath(), "-jar", JAR.toAbsolutePath().toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Runs {@code thaw ARGS} to its end. */
    static AwsClients.Run run(String... args) throws IOException, InterruptedException {
        Path out = Files.createTempFile("thaw-cli-", ".out");
        Path err = Files.createTempFile("thaw-cli-", ".err");
        try {
            Process p = new ProcessBuilder(command(args)).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(2, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new AssertionError("thaw " + String.join(" ", args) + " did not finish");
            }
            return new AwsClients.Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
