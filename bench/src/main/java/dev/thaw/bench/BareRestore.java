package dev.thaw.bench;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A restore with no thaw code around it: {@code criu restore -d} of a snapshot's images with the
 * options the node uses, started as the node starts CRIU, timed from the spawn to CRIU's exit (when
 * the restored process runs). The restore benchmark runs one beside each working-copy restore of a
 * node without sandboxes, so that its report shows what a cold start costs beyond CRIU's own work.
 * (A sandboxed image needs the launcher's namespaces to be restored at all, which is thaw code.)
 */
@FunctionalInterface
public interface BareRestore {

    /**
     * Restores the images, then kills the restored process.
     *
     * @param images the snapshot's images (the node's working copy)
     * @param stdinPipe the name CRIU knows the dumped process's stdin pipe by ({@code pipe:[N]})
     * @param stdoutPipe the same for its stdout
     * @return milliseconds from the spawn of CRIU to its exit
     * @throws IOException when CRIU could not be run or failed, with its log's last lines
     */
    double restoreMillis(Path images, String stdinPipe, String stdoutPipe) throws IOException;
}
