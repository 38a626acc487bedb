package dev.thaw.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalEtcdTest {

    @Test
    void startsHealthyOnLoopbackAndRestartsOnTheSamePortWithItsData() throws Exception {
        Path dir;
        long pid;
        try (LocalEtcd etcd = LocalEtcd.start(); Fixtures f = new Fixtures(null)) {
            dir = etcd.dataDir();
            assertThat(etcd.clientEndpoint().getHost()).isEqualTo("127.0.0.1");
            assertThat(etcd.clientEndpoint().getPort()).isNotEqualTo(etcd.peerEndpoint().getPort());
            assertThat(etcd.isRunning()).isTrue();
            assertThat(Files.readString(etcd.logFile())).contains("starting an etcd server");
            Coordination c = f.connect(Fixtures.config(etcd.clientEndpoint(), "local", "n1").build());
            c.registry().deploy(Fixtures.deployment("kept", "h"));
            c.close();

            etcd.stop();
            assertThat(etcd.isRunning()).isFalse();
            etcd.restart();
            pid = etcd.pid();
            Coordination again = f.connect(Fixtures.config(etcd.clientEndpoint(), "local", "n1").build());
            assertThat(again.registry().current("kept")).as("same endpoint, same data").isPresent();

            etcd.kill();
            assertThat(etcd.isRunning()).isFalse();
            etcd.restart();
            assertThat(again.registry().current("kept")).isPresent();
            pid = etcd.pid();
        }
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("process gone").isFalse();
        assertThat(dir).as("temporary data directory removed").doesNotExist();
    }

    @Test
    void aGivenDataDirectoryIsKeptAndAPausedServerStillStops(@TempDir Path tmp) {
        Path dir = tmp.resolve("etcd");
        LocalEtcd etcd = LocalEtcd.builder().dataDir(dir).name("member-1").build();
        try {
            etcd.pause();
            long pid = etcd.pid();
            etcd.close();
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        } finally {
            etcd.close();
        }
        assertThat(dir.resolve("etcd.log")).exists();
        assertThat(dir.resolve("data/member")).isDirectory();
    }

    @Test
    void aJvmTerminatedWithoutCloseTakesItsEtcdAndTemporaryDirectoryWithIt() throws Exception {
        Process owner = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
                "-cp", System.getProperty("java.class.path"), "-XX:TieredStopAtLevel=1", EtcdOwner.class.getName())
                .redirectErrorStream(true).start();
        try {
            String line = new java.io.BufferedReader(new java.io.InputStreamReader(owner.getInputStream())).readLine();
            assertThat(line).as("the owner JVM started etcd").matches("\\d+ /.*");
            long pid = Long.parseLong(line.split(" ")[0]);
            Path dir = Path.of(line.split(" ", 2)[1]);
            assertThat(dir).isDirectory();
            owner.destroy();                                     // SIGTERM: shutdown hooks run, close() never does
            assertThat(owner.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("etcd killed").isFalse();
            assertThat(dir).as("temporary directory removed").doesNotExist();
        } finally {
            owner.destroyForcibly();
        }
    }

    @Test
    void aMissingBinaryIsReportedWithTheInstallCommand(@TempDir Path tmp) {
        assertThatThrownBy(() -> LocalEtcd.builder().binary(tmp.resolve("no-etcd")).build())
                .isInstanceOf(ClusterException.class)
                .hasMessageContaining(tmp.resolve("no-etcd").toString())
                .hasMessageContaining("run scripts/install-etcd.sh");
        String old = System.getProperty(LocalEtcd.BINARY_PROPERTY);
        System.setProperty(LocalEtcd.BINARY_PROPERTY, tmp.resolve("elsewhere").toString());
        try {
            assertThatThrownBy(LocalEtcd::defaultBinary).hasMessageContaining("elsewhere").hasMessageContaining("install-etcd.sh");
        } finally {
            if (old == null) {
                System.clearProperty(LocalEtcd.BINARY_PROPERTY);
            } else {
                System.setProperty(LocalEtcd.BINARY_PROPERTY, old);
            }
        }
        assertThat(LocalEtcd.defaultBinary().endsWith(Path.of(".thaw/etcd/bin/etcd"))).as("found from the module directory").isTrue();
    }

    @Test
    void aServerThatCannotStartIsReportedWithTheEndOfItsLog(@TempDir Path tmp) throws Exception {
        Path fake = tmp.resolve("etcd");
        Files.writeString(fake, "#!/bin/sh\necho 'etcd: cannot do it: disk on fire' >&2\nexit 3\n");
        fake.toFile().setExecutable(true);
        assertThatThrownBy(() -> LocalEtcd.builder().binary(fake).startTimeout(Duration.ofSeconds(5)).build())
                .isInstanceOf(ClusterException.class)
                .hasMessageContaining("exited with status 3")
                .hasMessageContaining("disk on fire");
    }
}
