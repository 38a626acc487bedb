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

    @Test
    void isStartedAheadOnlyWhenItsPreloadLibraryIsThere(@TempDir Path dir) throws Exception {
        Path library = dir.resolve("thaw-criu-preload-0123456789ab.so");
        List<String> preloading = List.of("/bin/true", "--library-path", "/x", "--preload", library.toString(), "/z/criu");

        assertThat(CriuProcess.startsAhead(preloading)).get(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .contains("preload library " + library + " is missing").contains("scripts/install-criu.sh");
        Files.writeString(library, "");
        assertThat(CriuProcess.startsAhead(preloading)).isEmpty();

        assertThat(CriuProcess.startsAhead(List.of("/bin/true", "--library-path", "/x", "/z/criu")))
                .get(org.assertj.core.api.InstanceOfAssertFactories.STRING).contains("preloads no thaw-criu-preload library");
        assertThat(CriuProcess.startsAhead(List.of("/z/criu", "--preload"))).isPresent();
        assertThat(CriuProcess.startsAhead(List.of("/bin/true", "--preload", "/other.so", "/z/criu"))).isPresent();
    }
}
