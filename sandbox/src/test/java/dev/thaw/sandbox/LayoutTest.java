package dev.thaw.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.linux.Libc;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The skeleton root: device nodes and copies where it can hold them, mount points where it cannot. */
class LayoutTest {

    @Test
    void theSkeletonHoldsDeviceNodesAndCopiesInsteadOfMounts(@TempDir Path dir) throws Exception {
        SandboxFixture.assumeRoot(); // mknod
        Layout layout = layout(dir);
        Path root = dir.resolve("root");

        boolean nodev = mountOptions(dir).contains("nodev");
        Assumptions.assumeFalse(nodev, "the temporary directory's file system is mounted nodev (the next test covers that)");
        assertThat(layout.buildSkeleton(root, List.of(), "thaw")).as("device nodes work on this file system").isTrue();

        for (String device : Layout.DEVICES) {
            Path node = root.resolve(device.substring(1));
            assertThat(Files.getAttribute(node, "unix:rdev", LinkOption.NOFOLLOW_LINKS)).as(device)
                    .isEqualTo(Files.getAttribute(Path.of(device), "unix:rdev"));
            assertThat(Files.isRegularFile(node, LinkOption.NOFOLLOW_LINKS)).isFalse();
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(node))).isEqualTo("rw-rw-rw-");
        }
        Files.writeString(root.resolve("dev/null"), "gone");
        try (var in = Files.newInputStream(root.resolve("dev/urandom"))) {
            assertThat(in.readNBytes(16)).hasSize(16);
        }
    }

    @Test
    void onANodevFileSystemTheDevicesStayMountPoints(@TempDir Path dir) throws Exception {
        SandboxFixture.assumeRoot();
        Path nodev = Files.createDirectory(dir.resolve("nodev"));
        Libc.mount("layout-test", nodev.toString(), "tmpfs", Libc.MS_NODEV, "size=4m");
        try {
            Layout layout = layout(dir);
            assertThat(layout.buildSkeleton(nodev.resolve("root"), List.of(), "thaw")).isFalse();
            for (String device : Layout.DEVICES) {
                Path point = nodev.resolve("root").resolve(device.substring(1));
                assertThat(Files.isRegularFile(point, LinkOption.NOFOLLOW_LINKS)).as(device).isTrue();
                assertThat(Files.size(point)).isZero();
            }
            List<String> keys = layout.externals(List.of(), dir.resolve("scratch"), false).stream().map(Layout.Bind::key).toList();
            assertThat(keys).contains("dev-null", "dev-urandom", "scratch");
        } finally {
            Libc.umount2(nodev.toString(), Libc.MNT_DETACH);
        }
    }

    @Test
    void certificatesAndAlternativesAreCopiesThatRestoresStillKnowAsMounts(@TempDir Path dir) throws Exception {
        SandboxFixture.assumeRoot();
        Layout layout = layout(dir);
        Path root = dir.resolve("root");
        layout.buildSkeleton(root, List.of(), "thaw");
        Path certs = Path.of("/etc/ssl/certs");
        if (Files.isDirectory(certs)) {
            try (var listing = Files.list(certs)) {
                for (Path p : listing.limit(20).toList()) {
                    Path copy = root.resolve("etc/ssl/certs").resolve(p.getFileName().toString());
                    if (Files.isSymbolicLink(p)) {
                        assertThat(Files.readSymbolicLink(copy)).isEqualTo(Files.readSymbolicLink(p));
                    } else if (Files.isRegularFile(p)) {
                        assertThat(Files.mismatch(copy, p)).isEqualTo(-1);
                    }
                }
            }
        }
        Path scratch = dir.resolve("scratch");
        List<String> dumped = layout.externals(List.of(), scratch, true).stream().map(Layout.Bind::key).toList();
        assertThat(dumped).doesNotContain("certs", "alternatives", "dev-null", "dev-zero", "dev-full", "dev-random", "dev-urandom")
                .contains("usr", "runtime", "scratch");
        List<String> restored = Layout.restoreExternals(layout.externals(List.of(), scratch, true), true).stream()
                .map(Layout.Bind::key).toList();
        assertThat(restored).as("images dumped when these were mounts").containsAll(dumped)
                .contains("dev-null", "dev-zero", "dev-full", "dev-random", "dev-urandom");
        if (Files.isDirectory(certs)) {
            assertThat(restored).contains("certs");
        }
        assertThat(restored).doesNotHaveDuplicates();
    }

    /** @return the per-mount options of the mount {@code dir} is on, from this process's mountinfo */
    private static List<String> mountOptions(Path dir) throws Exception {
        Path real = dir.toRealPath();
        String best = "";
        List<String> options = List.of();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            String point = MountInfo.unescape(f[4]);
            if (real.startsWith(point) && point.length() >= best.length()) {
                best = point;
                options = List.of(f[5].split(","));
            }
        }
        return options;
    }

    private static Layout layout(Path dir) throws Exception {
        Path runtime = Files.createDirectories(dir.resolve("runtime"));
        return Layout.of(SandboxConfig.builder(dir).runtimeDir(runtime).build(), MountInfo.read());
    }
}
