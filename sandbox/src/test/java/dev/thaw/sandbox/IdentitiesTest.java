package dev.thaw.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Function identities: two ids each, allocated once, persisted, never shared, never in a host account's range. */
class IdentitiesTest {

    @Test
    void eachFunctionGetsIdsOfItsOwnThatSurviveTheNode(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("identities.properties");
        Identities ids = new Identities(file, 2_000_000_000L, 10);
        FunctionIdentity hello = ids.of("hello");
        assertThat(hello).isEqualTo(new FunctionIdentity("hello", 2_000_000_000L, 2_000_000_000L, 2_000_000_001L, 2_000_000_001L));
        FunctionIdentity other = ids.of("other: with odd=characters");
        assertThat(other.rootUid()).isEqualTo(2_000_000_002L);
        assertThat(other.uid()).isEqualTo(2_000_000_003L);
        assertThat(ids.of("hello")).isEqualTo(hello);
        assertThat(hello.uidMap()).isEqualTo("0:2000000000:1,1000:2000000001:1");
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(PosixFilePermissions.fromString("rw-------"));

        Identities reopened = new Identities(file, 2_000_000_000L, 10);
        assertThat(reopened.of("other: with odd=characters")).isEqualTo(other);
        assertThat(reopened.of("third").uid()).isEqualTo(2_000_000_005L);
    }

    @Test
    void theRangeRunsOutWithAClearMessage(@TempDir Path dir) {
        Identities ids = new Identities(dir.resolve("ids"), 3_000_000L, 2);
        ids.of("a");
        ids.of("b");
        assertThatThrownBy(() -> ids.of("c")).isInstanceOf(SandboxException.class).hasMessage("no function identity left: 2 are allocated");
        assertThat(ids.of("a").uid()).isEqualTo(3_000_001L);
    }

    @Test
    void aRangeThatAHostAccountIsInIsRefused(@TempDir Path dir) throws Exception {
        Path passwd = Files.writeString(dir.resolve("passwd"), "root:x:0:0:root:/root:/bin/bash\nbob:x:2000000007:100::/home/bob:/bin/sh\n");
        Path group = Files.writeString(dir.resolve("group"), "root:x:0:\n");
        assertThatThrownBy(() -> Identities.checkRange(2_000_000_000L, 100, passwd, group)).isInstanceOf(SandboxException.class)
                .hasMessage(passwd + " has bob with id 2000000007, inside the range of function ids 2000000000-2000000199: configure another base");
        Identities.checkRange(2_000_000_008L, 100, passwd, group);
        Identities.checkRange(2_000_000_000L, 3, passwd, group);
    }
}
