package dev.thaw.criu;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When CRIU cannot work, the probe says why in words a user can act on. */
class CriuProbeTest {

    @Test
    void noLauncherConfigured() {
        CriuStatus s = Criu.probe(Optional.empty());
        assertThat(s.available()).isFalse();
        assertThat(s.reason()).contains("snapshots are off").contains("scripts/install-criu.sh");
    }

    @Test
    void launcherMissing(@TempDir Path dir) {
        CriuStatus s = Criu.probe(Optional.of(dir.resolve("criu")));
        assertThat(s.available()).isFalse();
        assertThat(s.reason()).contains("CRIU not found at");
    }

    @Test
    void launcherThatDoesNotRun(@TempDir Path dir) throws Exception {
        Path fake = dir.resolve("criu");
        Files.writeString(fake, "#!/bin/sh\necho 'broken loader' >&2\nexit 127\n");
        fake.toFile().setExecutable(true);
        CriuStatus s = Criu.probe(Optional.of(fake));
        assertThat(s.available()).isFalse();
        assertThat(s.reason()).containsAnyOf("does not run", "needs root");
    }

    @Test
    void summarizesCriuLogsWithoutTheHarmlessRlimitNoise(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("restore.log");
        Files.writeString(log, "Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self\n"
                + "(00.01) info\nError (criu/image.c:871): Img trimmed 3/4\n");
        assertThat(CriuLogs.errorSummary(log)).isEqualTo("Error (criu/image.c:871): Img trimmed 3/4");
    }
}
