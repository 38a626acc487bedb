package dev.thaw.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A scratch copied as CRIU needs it: owners, modes, sizes, times, links; no special files. */
class TreeCopyTest {

    @Test
    void keepsOwnersModesSizesTimesAndLinks(@TempDir Path dir) throws Exception {
        SandboxFixture.assumeRoot(); // giving files to another user
        Path from = Files.createDirectory(dir.resolve("from"));
        Path sub = Files.createDirectory(from.resolve("sub"));
        Path file = Files.write(sub.resolve("lib.so"), new byte[12345]);
        Files.setAttribute(file, "unix:uid", 2_000_000_001);
        Files.setAttribute(file, "unix:gid", 2_000_000_001);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-x---"));
        Files.setLastModifiedTime(file, FileTime.from(1_700_000_000L, TimeUnit.SECONDS));
        Files.createSymbolicLink(from.resolve("link"), Path.of("sub/lib.so"));
        Files.setAttribute(from.resolve("link"), "unix:uid", 2_000_000_001, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(from, "unix:uid", 2_000_000_001);
        Files.setAttribute(from, "unix:mode", 01777);
        Files.setLastModifiedTime(sub, FileTime.from(1_600_000_000L, TimeUnit.SECONDS));
        Process mkfifo = new ProcessBuilder("mkfifo", from.resolve("fifo").toString()).start();
        assertThat(mkfifo.waitFor()).isZero();

        Path to = Files.createDirectory(dir.resolve("to"));
        TreeCopy.copy(from, to);

        Path copied = to.resolve("sub/lib.so");
        assertThat(Files.size(copied)).isEqualTo(12345);
        assertThat(Files.getAttribute(copied, "unix:uid")).isEqualTo(2_000_000_001);
        assertThat(Files.getAttribute(copied, "unix:gid")).isEqualTo(2_000_000_001);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(copied))).isEqualTo("rwxr-x---");
        assertThat(Files.getLastModifiedTime(copied).to(TimeUnit.SECONDS)).isEqualTo(1_700_000_000L);
        assertThat(Files.getLastModifiedTime(to.resolve("sub")).to(TimeUnit.SECONDS)).isEqualTo(1_600_000_000L);
        assertThat(Files.readSymbolicLink(to.resolve("link"))).isEqualTo(Path.of("sub/lib.so"));
        assertThat(Files.getAttribute(to.resolve("link"), "unix:uid", LinkOption.NOFOLLOW_LINKS)).isEqualTo(2_000_000_001);
        assertThat((int) Files.getAttribute(to, "unix:mode") & 07777).isEqualTo(01777);
        assertThat(Files.getAttribute(to, "unix:uid")).isEqualTo(2_000_000_001);
        assertThat(to.resolve("fifo")).doesNotExist();
    }
}
