package dev.thaw.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The launcher binary ({@code src/main/c/thaw-sandbox.c}, built by gcc during the Maven build and
 * packaged as a resource), extracted to a file named after its content, the way the node pins the
 * runtime JAR: a running instance's launcher is never rewritten under it, and a new build gets a
 * new file. Root-owned, mode 0755, in a directory only root can write.
 */
final class Launcher {
    static final String RESOURCE = "/dev/thaw/sandbox/thaw-sandbox";
    /** The descriptor number a launcher finds the instance's network namespace at. */
    static final int NETNS_FD = 3;
    /** The descriptor number a launcher finds the node's lifeline at. */
    static final int LIFELINE_FD = 4;
    /** The descriptor number a parked restore launcher reads CRIU's command line from. */
    static final int PARK_FD = 5;

    private Launcher() {
    }

    /**
     * @return the extracted launcher in {@code dir}
     * @throws SandboxException when it is not packaged or cannot be written
     */
    static Path extract(Path dir) {
        byte[] binary;
        try (InputStream in = Launcher.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new SandboxException("the sandbox launcher is not packaged (" + RESOURCE
                        + "): the thaw-sandbox module was built without gcc?");
            }
            binary = in.readAllBytes();
        } catch (IOException e) {
            throw new SandboxException("cannot read the sandbox launcher: " + e.getMessage(), e);
        }
        try {
            String digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(binary)).substring(0, 16);
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path pinned = dir.resolve("thaw-sandbox-" + digest);
            if (!Files.exists(pinned) || Files.size(pinned) != binary.length) {
                Path tmp = Files.createTempFile(dir, ".thaw-sandbox", ".tmp");
                Files.write(tmp, binary);
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
                Files.move(tmp, pinned, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            return pinned;
        } catch (IOException e) {
            throw new SandboxException("cannot extract the sandbox launcher into " + dir + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    /**
     * Runs the launcher's self-check: a user, pid, mount, ipc and uts namespace made and a seccomp
     * filter installed in it.
     *
     * @return empty when it passed, else why not (the launcher's own line)
     */
    static java.util.Optional<String> check(Path launcher) {
        try {
            Process p = new ProcessBuilder(List.of(launcher.toString(), "check")).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return java.util.Optional.of("the launcher's check did not finish");
            }
            return p.exitValue() == 0 && out.equals("ok") ? java.util.Optional.empty()
                    : java.util.Optional.of(out.isEmpty() ? "the launcher's check failed (exit " + p.exitValue() + ")" : out);
        } catch (IOException e) {
            return java.util.Optional.of("the launcher " + launcher + " does not run: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return java.util.Optional.of("interrupted");
        }
    }
}
