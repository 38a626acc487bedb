package dev.thaw.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The native calls: what they do, and failures that name the call and the system's reason. */
class LibcTest {

    @Test
    void failuresNameTheCallItsArgumentAndTheReason(@TempDir Path dir) {
        assertThatThrownBy(() -> Libc.open(dir.resolve("missing").toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0))
                .isInstanceOf(NativeException.class)
                .hasMessage("open(" + dir.resolve("missing") + "): No such file or directory (errno 2)")
                .satisfies(e -> assertThat(((NativeException) e).errno()).isEqualTo(Libc.ENOENT))
                .satisfies(e -> assertThat(((NativeException) e).call()).isEqualTo("open(" + dir.resolve("missing") + ")"));
        assertThatThrownBy(() -> Libc.setns(Integer.MAX_VALUE - 1, Libc.CLONE_NEWNET))
                .isInstanceOf(NativeException.class).hasMessageContaining("setns(fd 2147483646, CLONE_NEWNET): Bad file descriptor");
        assertThatThrownBy(() -> Libc.close(Integer.MAX_VALUE - 1)).hasMessageContaining("close(2147483646): Bad file descriptor (errno 9)");
        assertThat(Libc.strerror(1)).isEqualTo("Operation not permitted");
        assertThat(Libc.namespaces(Libc.CLONE_NEWNS | Libc.CLONE_NEWNET | 1)).isEqualTo("CLONE_NEWNS|CLONE_NEWNET|0x1");
    }

    /** The idle policy is the calling thread's alone, and it can go back to the normal one. */
    @Test
    void aThreadSchedulesItselfIdleAndBack() throws Exception {
        int[] seen = new int[3];
        Thread t = Thread.ofPlatform().start(() -> {
            Libc.scheduleIdle(true);
            seen[0] = policy(Path.of("/proc/thread-self/stat"));
            Libc.scheduleIdle(false);
            seen[1] = policy(Path.of("/proc/thread-self/stat"));
        });
        t.join();
        seen[2] = policy(Path.of("/proc/thread-self/stat"));
        assertThat(seen).as("SCHED_IDLE, then SCHED_OTHER; this thread untouched").containsExactly(5, 0, 0);
    }

    /** Another thread's policy is changed by its id, and a thread that is gone is told apart from a refusal. */
    @Test
    void anotherThreadIsScheduledByItsId() throws Exception {
        java.util.concurrent.CountDownLatch changed = new java.util.concurrent.CountDownLatch(1);
        int[] tid = new int[1];
        java.util.concurrent.CountDownLatch known = new java.util.concurrent.CountDownLatch(1);
        Thread t = Thread.ofPlatform().start(() -> {
            tid[0] = Libc.gettid();
            known.countDown();
            try {
                changed.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        known.await();
        Path stat = Path.of("/proc/self/task/" + tid[0] + "/stat");
        assertThat(Libc.scheduleIdle(tid[0], true)).isTrue();
        assertThat(policy(stat)).isEqualTo(5);
        assertThat(Libc.scheduleIdle(tid[0], false)).isTrue();
        assertThat(policy(stat)).isEqualTo(0);
        assertThat(Libc.gettid()).isNotEqualTo(tid[0]).isEqualTo(Integer.parseInt(
                Path.of("/proc/thread-self").toRealPath().getFileName().toString()));
        changed.countDown();
        t.join();
        for (long deadline = System.nanoTime() + 10_000_000_000L; Files.exists(stat) && System.nanoTime() < deadline; ) {
            Thread.sleep(10); // a joined thread's task entry goes a moment after it
        }
        assertThat(Libc.scheduleIdle(tid[0], true)).as("the thread is gone").isFalse();
    }

    /** @return the scheduling policy in a {@code /proc/.../stat} file */
    static int policy(Path stat) {
        return ProcStat.read(stat).orElseThrow().policy();
    }

    @Test
    void pipesAndExclusiveLocks(@TempDir Path dir) throws IOException {
        int[] pipe = Libc.pipe2(Libc.O_CLOEXEC);
        Files.writeString(Path.of("/proc/self/fd/" + pipe[1]), "x");
        Libc.close(pipe[1]);
        assertThat(Files.readString(Path.of("/proc/self/fd/" + pipe[0]))).isEqualTo("x");
        Libc.close(pipe[0]);

        Path file = Files.createFile(dir.resolve("lock"));
        int a = Libc.open(file.toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        int b = Libc.open(file.toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        try {
            assertThat(Libc.flock(a, Libc.LOCK_EX | Libc.LOCK_NB)).isTrue();
            assertThat(Libc.flock(b, Libc.LOCK_EX | Libc.LOCK_NB)).as("held through another open file").isFalse();
            Libc.flock(a, Libc.LOCK_UN);
            assertThat(Libc.flock(b, Libc.LOCK_EX | Libc.LOCK_NB)).isTrue();
        } finally {
            Libc.close(a);
            Libc.close(b);
        }
        assertThat(Libc.kill(Integer.MAX_VALUE - 1, 0)).as("no such process").isFalse();
        assertThat(Libc.kill(ProcessHandle.current().pid(), 0)).isTrue();
    }

    @Test
    void mountsAndUnmountsATmpfs(@TempDir Path dir) throws IOException {
        assumeTrue(Libc.geteuid() == 0, "mounting needs root");
        Path target = Files.createDirectory(dir.resolve("mnt"));
        Libc.mount("tmpfs", target.toString(), "tmpfs", Libc.MS_NOSUID | Libc.MS_NODEV, "size=1m,mode=0700");
        try {
            assertThat(Files.readAllLines(Path.of("/proc/self/mountinfo"))).anyMatch(l -> l.contains(" " + target + " "));
            assertThatThrownBy(() -> Files.write(target.resolve("big"), new byte[2 << 20])).hasMessageContaining("No space left on device");
        } finally {
            Libc.umount2(target.toString(), Libc.MNT_DETACH);
        }
        assertThat(Files.readAllLines(Path.of("/proc/self/mountinfo"))).noneMatch(l -> l.contains(" " + target + " "));
        assertThatThrownBy(() -> Libc.umount2(target.toString(), 0)).hasMessageContaining("umount2(" + target + "): Invalid argument");
    }

    @Test
    void aNetworkNamespaceOfItsOwnWithLoopbackUpAndListenersInside() throws Exception {
        assumeTrue(Libc.geteuid() == 0, "network namespaces need root");
        long own = NetworkNamespace.inodeOf(ProcessHandle.current().pid());
        try (NetworkNamespace ns = NetworkNamespace.create();
             ServerSocketChannel host = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            assertThat(ns.inode()).isNotEqualTo(own);
            assertThat(ns.toString()).isEqualTo("net:[" + ns.inode() + "]");
            assertThat(ns.call(() -> NetworkInterface.getByName("lo").isUp())).isTrue();
            assertThat(ns.call(() -> NetworkNamespace.inodeOf(ProcessHandle.current().pid())))
                    .as("the process's main thread stays where it was").isEqualTo(own);
            int port = host.socket().getLocalPort();
            // the host's listener is not reachable from inside
            assertThatThrownBy(() -> ns.call(() -> SocketChannel.open(new InetSocketAddress("127.0.0.1", port))))
                    .hasMessageContaining("Connection refused");
            // a listener made inside is reachable from inside only
            try (ServerSocketChannel inside = ns.call(() -> ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0)))) {
                int insidePort = inside.socket().getLocalPort();
                try (SocketChannel c = ns.call(() -> SocketChannel.open(new InetSocketAddress("127.0.0.1", insidePort)));
                     SocketChannel accepted = inside.accept()) {
                    c.write(ByteBuffer.wrap(new byte[] {42}));
                    ByteBuffer b = ByteBuffer.allocate(1);
                    accepted.read(b);
                    assertThat(b.get(0)).isEqualTo((byte) 42);
                }
            }
        }
    }

    @Test
    void aClosedNamespaceRefusesWork() {
        assumeTrue(Libc.geteuid() == 0, "network namespaces need root");
        NetworkNamespace ns = NetworkNamespace.create();
        ns.close();
        ns.close();
        assertThatThrownBy(() -> ns.call(() -> 1)).isInstanceOf(IllegalStateException.class).hasMessageContaining("was closed");
    }
}
