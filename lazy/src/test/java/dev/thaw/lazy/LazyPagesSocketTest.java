package dev.thaw.lazy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The lazy-pages socket bound ahead of its daemon: connectable at once, unbound when closed unused. */
class LazyPagesSocketTest {

    @Test
    void acceptsConnectionsIntoItsBacklogBeforeAnyDaemonAndIsUnboundWhenClosedUnused(@TempDir Path dir) throws Exception {
        Path work = dir.resolve("w");
        LazyPagesSocket socket = LazyPages.listen(work);
        assertThat(socket.path()).isEqualTo(work.toAbsolutePath().resolve("lazy-pages.socket")).exists();
        try (SocketChannel client = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            assertThat(client.connect(UnixDomainSocketAddress.of(socket.path()))).as("connected with nobody accepting").isTrue();
        }
        socket.close();
        assertThat(socket.path()).doesNotExist();
        socket.close(); // twice is harmless
    }

    @Test
    void isAdoptedOnce(@TempDir Path dir) {
        LazyPagesSocket socket = LazyPages.listen(dir.resolve("w"));
        int fd = socket.adopt();
        assertThat(fd).isNotNegative();
        assertThatThrownBy(socket::adopt).isInstanceOf(IllegalStateException.class).hasMessageContaining("served already");
        socket.close();
        assertThat(socket.path()).as("the adopter's to unbind").exists();
        new Libc(java.lang.foreign.Arena.ofAuto()).close(fd);
    }

    @Test
    void refusesAPathTooLongForASocketAddressNamingIt(@TempDir Path dir) {
        Path deep = dir.resolve("x".repeat(120));
        assertThatThrownBy(() -> LazyPages.listen(deep)).isInstanceOf(LazyPagesException.class)
                .hasMessageContaining("more than the 107 an AF_UNIX address holds");
    }
}
