package dev.thaw.linux;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class HeldConnectionsTest {
    private static final String HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";

    @Test
    void aTableLineOfOneOfTheSocketsIsAConnectionUnlessItListens() {
        List<String> table = List.of(HEADER,
                "   0: 0100007F:2329 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0",
                "   1: 0100007F:D431 0100007F:2332 01 00000000:00000000 00:00000000 00000000     0        0 1002 1 0",
                "   2: 0100007F:D432 0100007F:2332 01 00000000:00000000 00:00000000 00000000     0        0 1003 1 0");
        assertThat(HeldConnections.connections(table, Set.of("1001", "1002")))
                .containsExactly("127.0.0.1:54321 -> 127.0.0.1:9010 ESTABLISHED");
    }

    @Test
    void anAddressIsReadAsTheKernelPrintsIt() {
        assertThat(HeldConnections.address("0100007F:2332")).isEqualTo("127.0.0.1:9010");
        assertThat(HeldConnections.address("0000000000000000FFFF00000100007F:0050"))
                .isEqualTo("[0000000000000000ffff00000100007f]:80");
    }

    @Test
    void thisProcessHoldsTheConnectionItOpensAndNotItsListener() throws Exception {
        long self = ProcessHandle.current().pid();
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = listener.getLocalPort();
            assertThat(HeldConnections.of(self)).noneMatch(c -> c.contains(":" + port + " "));
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port); Socket accepted = listener.accept();
                 InputStream unused = accepted.getInputStream()) {
                assertThat(HeldConnections.of(self)).anyMatch(c -> c.endsWith(":" + port + " ESTABLISHED"));
            }
        }
    }
}
