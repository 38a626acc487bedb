package dev.thaw.node.xdt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The signed digest that follows a pull's data: only the producer's, for this request, this object and size. */
class PeerAuthTest {
    private static final byte[] SHA = new byte[32];
    private final PeerAuth auth = new PeerAuth(TransferKey.of("the-cluster-key-the-cluster-key!".getBytes(StandardCharsets.US_ASCII)));

    static {
        SHA[3] = 7;
    }

    /** @return the trailers as the consumer's reader keeps them: lower-case names */
    private static Map<String, String> received(Map<String, String> sent) {
        Map<String, String> t = new HashMap<>();
        sent.forEach((k, v) -> t.put(k.toLowerCase(Locale.ROOT), v));
        return t;
    }

    private static Refusal.Reason reason(Throwable e) {
        return ((Refusal) e).reason();
    }

    @Test
    void theDigestSignedForThisPullVerifies() {
        Map<String, String> t = received(auth.signDigest("req-sig", "00ff", 10, SHA));
        assertThat(auth.verifyDigest(t, "req-sig", "00ff", 10, "node 'a'")).isEqualTo(SHA);
    }

    @Test
    void anotherDigestAnotherRequestObjectOrSizeOrKeyIsRefused() {
        Map<String, String> t = received(auth.signDigest("req-sig", "00ff", 10, SHA));
        Map<String, String> changed = new HashMap<>(t);
        changed.put("thaw-xdt-sha256", "00".repeat(32));
        assertThatThrownBy(() -> auth.verifyDigest(changed, "req-sig", "00ff", 10, "node 'a'"))
                .satisfies(e -> assertThat(reason(e)).isEqualTo(Refusal.Reason.CORRUPTED))
                .hasMessageContaining("not signed by a node of this cluster");
        assertThatThrownBy(() -> auth.verifyDigest(t, "another-request", "00ff", 10, "node 'a'")).isInstanceOf(Refusal.class);
        assertThatThrownBy(() -> auth.verifyDigest(t, "req-sig", "00fe", 10, "node 'a'")).isInstanceOf(Refusal.class);
        assertThatThrownBy(() -> auth.verifyDigest(t, "req-sig", "00ff", 11, "node 'a'")).isInstanceOf(Refusal.class);
        PeerAuth other = new PeerAuth(TransferKey.of("another-key-another-key-another-k".getBytes(StandardCharsets.US_ASCII)));
        assertThatThrownBy(() -> other.verifyDigest(t, "req-sig", "00ff", 10, "node 'a'")).isInstanceOf(Refusal.class);
    }

    @Test
    void noDigestIsRefusedNamingTheSource() {
        assertThatThrownBy(() -> auth.verifyDigest(Map.of(), "req-sig", "00ff", 10, "node 'a'"))
                .satisfies(e -> assertThat(reason(e)).isEqualTo(Refusal.Reason.CORRUPTED))
                .hasMessageContaining("node 'a'").hasMessageContaining("without the signed SHA-256");
    }
}
