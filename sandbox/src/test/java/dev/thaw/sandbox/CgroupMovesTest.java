package dev.thaw.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class CgroupMovesTest {

    @Test
    void theMountCarriesTheRootsFlagsOverAndAddsFavordynmods() {
        assertThat(CgroupMoves.mountData("rw,nsdelegate,memory_recursiveprot"))
                .as("leaving a flag out would clear it on the root").isEqualTo("nsdelegate,memory_recursiveprot,favordynmods");
        assertThat(CgroupMoves.mountData("rw")).isEqualTo("favordynmods");
        assertThat(CgroupMoves.mountData("")).as("no cgroup2 mounted").isEqualTo("favordynmods");
    }

    @Test
    void aRootThatFavorsMovesAlreadyIsLeftAlone() {
        List<MountInfo.Mount> mounts = MountInfo.parse(List.of(
                "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate,favordynmods",
                "35 31 0:32 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids"));
        Path never = Path.of("/nonexistent/thaw-test-never-created");
        assertThat(CgroupMoves.favor(mounts, never)).isEqualTo("cgroup moves without an RCU wait (favordynmods)");
        assertThat(never).doesNotExist();
    }

    @Test
    void onlyTheCgroup2RootCounts() {
        List<MountInfo.Mount> mounts = MountInfo.parse(List.of(
                "50 31 0:38 /thaw /mnt/sub rw - cgroup2 cgroup2 rw,favordynmods",
                "35 31 0:32 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids"));
        assertThat(CgroupMoves.cgroup2(mounts)).as("a bind of a subdirectory is not the root's mount").isEmpty();
    }
}
