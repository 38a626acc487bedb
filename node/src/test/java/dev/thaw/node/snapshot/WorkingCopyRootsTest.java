package dev.thaw.node.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkingCopyRootsTest {

    @Test
    void rootsOfDataDirectoriesThatAreGoneAreRemovedAndTheOthersKept(@TempDir Path tmp) throws Exception {
        Path shm = Files.createDirectories(tmp.resolve("shm"));
        Path liveData = Files.createDirectories(tmp.resolve("live"));
        Path goneData = Files.createDirectories(tmp.resolve("gone"));
        Path live = shm.resolve("thaw-1");
        Path gone = shm.resolve("thaw-2");
        Path unmarked = Files.createDirectories(shm.resolve("thaw-3"));
        Path other = Files.createDirectories(shm.resolve("not-thaw"));
        WorkingCopyRoots.mark(live, liveData);
        WorkingCopyRoots.mark(gone, goneData);
        Files.createDirectories(gone.resolve("hello/v1/images"));
        Files.writeString(gone.resolve("hello/v1/images/pages-1.img"), "pages");
        Files.delete(goneData);

        assertThat(WorkingCopyRoots.sweepOrphans(shm)).containsExactly(gone);
        assertThat(gone).doesNotExist();
        assertThat(live).exists();
        assertThat(unmarked).as("nothing says whose it is").exists();
        assertThat(other).exists();
        assertThat(WorkingCopyRoots.sweepOrphans(tmp.resolve("absent"))).isEmpty();
    }
}
