package dev.thaw.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A booted JVM function inside its sandbox: what it is, what it sees, what it may and may not do. */
class SandboxIsolationTest {

    @Test
    void aBootedFunctionSeesAndReachesOnlyItsSandbox() throws Exception {
        try (SandboxFixture f = SandboxFixture.open();
             ServerSocketChannel host = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            // root-owned files inside the function's own code: 0600, and 0640 with group root
            Path secret = Files.writeString(f.code.resolve("secret"), "the node's secret\n");
            Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
            Path groupSecret = Files.writeString(f.code.resolve("group-secret"), "root's group\n");
            Files.setPosixFilePermissions(groupSecret, PosixFilePermissions.fromString("rw-r-----"));

            InstanceSandbox box = f.create("iso", 256);
            ServerSocketChannel api = box.openListener(9001);
            ProbeInstance p = f.boot(box, 96);
            FunctionIdentity id = box.identity();

            String status = p.ask("status");
            assertThat(status).contains("Uid=1000,1000,1000,1000", "Gid=1000,1000,1000,1000", "Groups= ",
                    "CapInh=0000000000000000", "CapPrm=0000000000000000", "CapEff=0000000000000000",
                    "CapBnd=0000000000000000", "CapAmb=0000000000000000", "NoNewPrivs=1", "Seccomp=2",
                    "user=thaw", "home=/tmp", "cwd=/var/task");
            assertThat(status).contains("NSpid=1 "); // its own proc shows its own pid namespace only
            assertThat(p.ask("pid")).isEqualTo("1");
            assertThat(p.ask("hostname")).isEqualTo("thaw");
            // on the host it is the function's own uid, in the instance's cgroup
            long pid = p.pid();
            String hostStatus = Files.readString(Path.of("/proc/" + pid + "/status"));
            assertThat(hostStatus).contains("Uid:\t" + id.uid() + "\t" + id.uid()).contains("Gid:\t" + id.gid() + "\t" + id.gid());
            assertThat(Files.readString(Path.of("/proc/" + pid + "/cgroup")))
                    .contains("memory:/thaw/" + NodeSandboxes.key(f.dataDir) + "/iso").contains("pids:/thaw/");
            assertThat(box.processes()).contains(pid);

            // files: none of the host's secrets, the code readable but not writable, / and /usr read-only
            assertThat(p.ask("read /var/task/secret")).startsWith("error AccessDeniedException");
            assertThat(p.ask("read /var/task/group-secret")).as("no supplementary group of root's").startsWith("error AccessDeniedException");
            assertThat(p.ask("read /var/task/dev/thaw/sandbox/SandboxProbe.class")).startsWith("ok ");
            assertThat(p.ask("read /etc/shadow")).startsWith("error NoSuchFileException");
            assertThat(p.ask("list /")).isEqualTo("bin,dev,etc,lib,lib64,opt,proc,sbin,tmp,usr,var");
            assertThat(p.ask("list /etc")).isEqualTo("alternatives,group,hostname,hosts,ld.so.cache,localtime,mtab,nsswitch.conf,passwd,resolv.conf,ssl");
            assertThat(p.ask("sh echo gone > /dev/null && head -c 16 /dev/urandom | wc -c && head -c 3 /dev/zero | wc -c"))
                    .as("the device nodes work").isEqualTo("exit 0 16|3");
            if (((NodeSandboxes) f.sandboxes).devicesInRoot) {
                assertThat(p.ask("sh cut -d' ' -f5 /proc/self/mountinfo | grep -c '^/dev\\|^/etc'"))
                        .as("device nodes and /etc are files of the root, not mounts CRIU must make again").isEqualTo("exit 1 0");
            }
            assertThat(p.ask("sh cat /etc/ssl/certs/ca-certificates.crt | grep -c BEGIN")).as("the CA certificates").matches("exit 0 [1-9][0-9]*");
            assertThat(p.ask("write /usr/x 1")).contains("Read-only file system");
            assertThat(p.ask("write /var/task/x 1")).contains("Read-only file system");
            assertThat(p.ask("write /x 1")).contains("Read-only file system");
            assertThat(p.ask("write /etc/passwd 1")).contains("Read-only file system");
            // /tmp: writable up to its bound (8 MiB here)
            assertThat(p.ask("write /tmp/a 4000000")).isEqualTo("ok");
            assertThat(p.ask("write /tmp/b 6000000")).contains("No space left on device");
            assertThat(Files.getAttribute(box.scratch().resolve("a"), "unix:uid")).isEqualTo((int) id.uid());
            // processes: its own tree only
            assertThat(Arrays.stream(p.ask("list /proc").split(",")).filter(e -> e.matches("\\d+"))).containsExactly("1");
            assertThat(p.ask("sh id -u; id -g; echo to-stderr > /dev/stderr; ls /proc | grep -c '^[0-9]'"))
                    .as("children work under the seccomp filter; /dev/stderr is there").isEqualTo("exit 0 1000|1000|to-stderr|4"); // java, sh, ls, grep
            // the calls the filter refuses
            assertThat(p.ask("native mount")).isEqualTo("rc=-1 errno=1");
            assertThat(p.ask("native unshare")).isEqualTo("rc=-1 errno=1");
            assertThat(p.ask("native ptrace")).isEqualTo("rc=-1 errno=1");

            // network: the host's 127.0.0.1 is out of reach, the listener opened for it is not
            assertThat(p.ask("connect " + host.socket().getLocalPort())).contains("Connection refused");
            CompletableFuture<String> served = serveOnce(api);
            assertThat(p.ask("connect 9001")).isEqualTo("reply pong");
            assertThat(served.get(10, TimeUnit.SECONDS)).isEqualTo("ping");
            assertThat(box.networkNamespace()).isNotEqualTo(dev.thaw.linux.NetworkNamespace.inodeOf(ProcessHandle.current().pid()));
            assertThat(dev.thaw.linux.NetworkNamespace.inodeOf(pid)).isEqualTo(box.networkNamespace());
        }
    }

    /** Accepts one connection on {@code listener}, reads a line, answers "pong". */
    static CompletableFuture<String> serveOnce(ServerSocketChannel listener) {
        CompletableFuture<String> line = new CompletableFuture<>();
        Thread.ofPlatform().daemon().start(() -> {
            try (SocketChannel c = listener.accept()) {
                ByteBuffer b = ByteBuffer.allocate(64);
                while (b.position() == 0 || b.get(b.position() - 1) != '\n') {
                    if (c.read(b) < 0) {
                        break;
                    }
                }
                line.complete(new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip());
                c.write(ByteBuffer.wrap("pong\n".getBytes(StandardCharsets.UTF_8)));
            } catch (IOException e) {
                line.completeExceptionally(e);
            }
        });
        return line;
    }
}
