package dev.thaw.criu;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How CRIU is started: the launcher's own command line when install-criu.sh wrote it, else the launcher. */
class CriuProcessTest {

    @Test
    void startsWhatTheLauncherWouldExecWhenItsCommandLineIsBesideIt(@TempDir Path dir) throws Exception {
        Path launcher = dir.resolve("criu");
        Files.writeString(launcher, "#!/bin/sh\nexec /bin/true \"$@\"\n");
        Files.writeString(dir.resolve("criu.argv"), "/bin/true\n--library-path\n/x:/y\n/z/criu\n\n");

        assertThat(CriuProcess.command(launcher)).containsExactly("/bin/true", "--library-path", "/x:/y", "/z/criu");
    }

    @Test
    void startsTheLauncherWithoutACommandLineOrWhenItNamesNothingRunnable(@TempDir Path dir) throws Exception {
        Path launcher = dir.resolve("criu");
        assertThat(CriuProcess.command(launcher)).containsExactly(launcher.toString());

        Files.writeString(dir.resolve("criu.argv"), dir.resolve("gone/ld.so") + "\n/z/criu\n");
        assertThat(CriuProcess.command(launcher)).containsExactly(launcher.toString());

        Files.writeString(dir.resolve("criu.argv"), "\n");
        assertThat(CriuProcess.command(launcher)).isEqualTo(List.of(launcher.toString()));
    }
}
