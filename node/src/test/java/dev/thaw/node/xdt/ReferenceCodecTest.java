package dev.thaw.node.xdt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

/** References: what they carry, and every kind of bad reference refused with its own reason. */
class ReferenceCodecTest {
    private static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private final ReferenceCodec codec = new ReferenceCodec(TransferKey.of(KEY));
    private final long now = 1_800_000_000_000L;

    private Reference ref(List<String> readers) {
        return new Reference("node-a", "10.0.0.1:7070", codec.newObjectId(), "producer", 10_485_760, now + 300_000, 3,
                readers, true);
    }

    @Test
    void aSealedReferenceOpensToWhatWasSealedAndFitsInAJsonString() {
        Reference r = ref(List.of("consumer", "indexer"));
        String token = codec.seal(r);
        assertThat(token).startsWith("xdt2.").matches("[A-Za-z0-9._-]+").hasSizeLessThan(400);
        assertThat(codec.open(token)).isEqualTo(r);
        assertThat(token).doesNotContain("10.0.0.1").doesNotContain("node-a").doesNotContain("producer");
        assertThat(codec.seal(r)).as("a fresh nonce each time").isNotEqualTo(token);
    }

    @Test
    void notAReferenceIsMalformed() {
        for (String bad : new String[] {"", "hello", "xdt2.", "xdt2.abc", "xdt2.!!!.???", "xdt2.AAAA.AAAA", "xdt1.AAAA.AAAA",
            "xdt2." + "A".repeat(5000) + ".AAAA", "s3://bucket/key"}) {
            assertThatThrownBy(() -> codec.open(bad)).as(bad).isInstanceOf(Refusal.class)
                    .satisfies(e -> assertThat(((Refusal) e).reason()).isEqualTo(Refusal.Reason.MALFORMED))
                    .hasMessageContaining("not an XDT reference");
        }
    }

    @Test
    void aReferenceOfAnotherKeyIsForged() {
        ReferenceCodec other = new ReferenceCodec(TransferKey.of("another-key-another-key-another-k".getBytes(StandardCharsets.US_ASCII)));
        String foreignMade = other.seal(ref(List.of()));
        assertThatThrownBy(() -> codec.open(foreignMade)).isInstanceOf(Refusal.class)
                .satisfies(e -> assertThat(((Refusal) e).reason()).isEqualTo(Refusal.Reason.FORGED))
                .hasMessageContaining("not made by a node of this cluster");
        byte[] random = new byte[180];
        new java.util.Random(1).nextBytes(random);
        String madeUp = "xdt2." + b64(random) + "." + b64(new byte[32]);
        assertThatThrownBy(() -> codec.open(madeUp)).satisfies(
                e -> assertThat(((Refusal) e).reason()).isEqualTo(Refusal.Reason.FORGED));
    }

    @Test
    void aChangedReferenceIsAltered() {
        String token = codec.seal(ref(List.of("consumer")));
        int dot = token.lastIndexOf('.');
        byte[] body = Base64.getUrlDecoder().decode(token.substring(5, dot));
        // every byte after the nonce and the object id's 32 bytes: flags, size, expiry, reads, names, readers
        for (int i = 12 + 32; i < body.length; i++) {
            byte[] changed = body.clone();
            changed[i] ^= 0x01;
            String altered = "xdt2." + b64(changed) + token.substring(dot);
            assertThatThrownBy(() -> codec.open(altered)).as("byte %d", i).isInstanceOf(Refusal.class)
                    .satisfies(e -> assertThat(((Refusal) e).reason()).isEqualTo(Refusal.Reason.ALTERED))
                    .hasMessageContaining("changed after a node of this cluster made it");
        }
        String retagged = token.substring(0, dot + 1) + b64(new byte[32]);
        assertThatThrownBy(() -> codec.open(retagged)).satisfies(
                e -> assertThat(((Refusal) e).reason()).isEqualTo(Refusal.Reason.ALTERED));
    }

    @Test
    void anExpiredReferenceIsRefusedAsExpired() {
        Reference r = codec.open(codec.seal(ref(List.of())));
        r.checkUsableBy("anyone", now + 299_999);
        assertThatThrownBy(() -> r.checkUsableBy("anyone", now + 300_000)).isInstanceOf(Refusal.class)
                .satisfies(e -> assertThat(((Refusal) e).reason()).isEqualTo(Refusal.Reason.EXPIRED))
                .hasMessageContaining("expired at").hasMessageContaining("producer");
    }

    @Test
    void aReaderTheReferenceDoesNotNameIsForeign() {
        Reference r = codec.open(codec.seal(ref(List.of("consumer", "indexer"))));
        r.checkUsableBy("consumer", now);
        r.checkUsableBy("indexer", now);
        assertThatThrownBy(() -> r.checkUsableBy("snooper", now)).isInstanceOf(Refusal.class)
                .satisfies(e -> assertThat(((Refusal) e).reason()).isEqualTo(Refusal.Reason.FOREIGN))
                .hasMessageContaining("function 'snooper' may not read").hasMessageContaining("consumer, indexer");
        codec.open(codec.seal(ref(List.of()))).checkUsableBy("snooper", now);
    }

    @Test
    void theReasonsAreTheApisNameForName() {
        assertThat(XdtService.reasons()).containsExactlyElementsOf(
                Arrays.stream(dev.thaw.api.XdtException.Reason.values()).map(Enum::name).toList());
    }

    private static String b64(byte[] b) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
