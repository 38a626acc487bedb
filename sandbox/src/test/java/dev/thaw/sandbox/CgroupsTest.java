package dev.thaw.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import dev.thaw.sandbox.Cgroups.Controller;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which hierarchy holds which controller, read from mountinfo, and the limits derived from memory. */
class CgroupsTest {
    /** This project's machines: v1 hierarchies per controller, and a v2 one with hugetlb only. */
    private static final List<String> HYBRID = List.of(
            "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
            "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
            "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct",
            "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
            "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids",
            "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd",
            "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw");
    private static final List<String> V2 = List.of(
            "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot");

    private static Cgroups detect(List<String> lines, String v2Controllers) {
        return Cgroups.detect(MountInfo.parse(lines), p -> p.getFileName().toString().equals("cgroup.controllers") ? v2Controllers : "");
    }

    @Test
    void hybridUsesTheV1HierarchiesAndJoinsTheV2OneForItsKill() {
        Cgroups c = detect(HYBRID, "hugetlb\n");
        assertThat(c.of(Controller.MEMORY)).contains(new Cgroups.Hierarchy(Path.of("/sys/fs/cgroup/memory"), false));
        assertThat(c.of(Controller.CPU)).contains(new Cgroups.Hierarchy(Path.of("/sys/fs/cgroup/cpu"), false));
        assertThat(c.of(Controller.PIDS)).contains(new Cgroups.Hierarchy(Path.of("/sys/fs/cgroup/pids"), false));
        assertThat(c.missing()).isEmpty();
        assertThat(c.hierarchies()).extracting(Cgroups.Hierarchy::mount).containsExactly(Path.of("/sys/fs/cgroup/memory"),
                Path.of("/sys/fs/cgroup/cpu"), Path.of("/sys/fs/cgroup/pids"), Path.of("/sys/fs/cgroup/unified"));
        assertThat(c.v2SubtreeControl()).isEmpty();
        assertThat(c.versions()).isEqualTo("cgroup v1");
    }

    @Test
    void pureV2UsesTheControllersItLists() {
        Cgroups c = detect(V2, "cpuset cpu io memory hugetlb pids rdma misc\n");
        assertThat(c.of(Controller.MEMORY)).contains(new Cgroups.Hierarchy(Path.of("/sys/fs/cgroup"), true));
        assertThat(c.hierarchies()).hasSize(1);
        assertThat(c.v2SubtreeControl()).isEqualTo("+memory +cpu +pids");
        assertThat(c.versions()).isEqualTo("cgroup v2");
        Cgroups withoutCpu = detect(V2, "memory pids\n");
        assertThat(withoutCpu.missing()).containsExactly(Controller.CPU);
    }

    @Test
    void aControllerMissingEverywhereIsSaidSo() {
        Cgroups c = detect(HYBRID.stream().filter(l -> !l.contains("pids")).toList(), "pids\n");
        assertThat(c.of(Controller.PIDS)).contains(new Cgroups.Hierarchy(Path.of("/sys/fs/cgroup/unified"), true));
        assertThat(c.versions()).isEqualTo("cgroup v1 (memory, cpu) and v2 (pids)");
        Cgroups none = detect(HYBRID.stream().filter(l -> !l.contains("pids") && !l.contains("memory")).toList(), "");
        assertThat(none.missing()).containsExactly(Controller.MEMORY, Controller.PIDS);
        SandboxConfig config = SandboxConfig.builder(Path.of("/data")).build();
        assertThat(NodeSandboxes.enforcement(config, none)).isEqualTo("user, mount, pid, ipc, uts and network namespaces; seccomp; "
                + "no capabilities; read-only root; cpu shares by memory via cgroup v1; RLIMIT_NOFILE 1024; /tmp 64 MiB; "
                + "not enforced: memory (no memory controller), pids (no pids controller)");
        assertThat(NodeSandboxes.enforcement(config, detect(HYBRID, ""))).isEqualTo("user, mount, pid, ipc, uts and network namespaces; "
                + "seccomp; no capabilities; read-only root; memory (the function's memoryMb), cpu shares by memory, pids 1024 via cgroup v1; "
                + "RLIMIT_NOFILE 1024; /tmp 64 MiB");
    }

    @Test
    void cpuFollowsMemoryAsOnLambda() {
        assertThat(InstanceCgroup.cpuShares(1769)).isEqualTo(1024);
        assertThat(InstanceCgroup.cpuShares(128)).isEqualTo(74);
        assertThat(InstanceCgroup.cpuShares(3538)).isEqualTo(2048);
        assertThat(InstanceCgroup.cpuShares(1)).isEqualTo(2);
        assertThat(InstanceCgroup.cpuWeight(1769)).isEqualTo(100);
        assertThat(InstanceCgroup.cpuWeight(128)).isEqualTo(7);
        assertThat(InstanceCgroup.cpuWeight(10)).isEqualTo(1);
        assertThat(InstanceCgroup.cpuWeight(10_240)).isEqualTo(579);
    }

    @Test
    void allInstancesWeighTwoBusyThreadsPerCore() {
        assertThat(Cgroups.instancesShares(2)).isEqualTo(4096);
        assertThat(Cgroups.instancesShares(1)).isEqualTo(2048);
        assertThat(Cgroups.instancesShares(0)).as("a machine that says it has no core").isEqualTo(2048);
        assertThat(Cgroups.instancesWeight(2)).isEqualTo(400);
        assertThat(Cgroups.instancesWeight(64)).as("v2's largest weight").isEqualTo(10_000);
    }

    @Test
    void mountPointsAreUnescapedAndListedDeepestFirst() {
        List<MountInfo.Mount> mounts = MountInfo.parse(List.of(
                "100 1 0:50 / /data/sandbox/scratch/a\\040b rw - tmpfs thaw-scratch rw",
                "101 1 0:51 / /data/sandbox/scratch/a\\040b/deeper rw - tmpfs thaw-scratch rw",
                "102 1 0:52 / /data/other rw - tmpfs x rw",
                "garbage"));
        assertThat(mounts).hasSize(3);
        assertThat(mounts.getFirst().mountPoint()).isEqualTo(Path.of("/data/sandbox/scratch/a b"));
        assertThat(MountInfo.below(mounts, Path.of("/data/sandbox"))).containsExactly(
                Path.of("/data/sandbox/scratch/a b/deeper"), Path.of("/data/sandbox/scratch/a b"));
        assertThat(MountInfo.unescape("tab\\011nl\\012back\\134slash")).isEqualTo("tab\tnl\nback\\slash");
    }
}
