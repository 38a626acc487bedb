package dev.thaw.workloads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class JsonWorkloadTest {

    private final JsonWorkload handler = new JsonWorkload();

    /** The serialized document of size 2, written out by hand from the generator's rules. */
    private static final String TWO_RECORDS = """
            {"version":1,"generator":"thaw-workloads","records":[\
            {"id":0,"name":"user-0","active":true,"score":0.0,"tags":["tag-0"],\
            "address":{"street":"1 \\"Quoted\\" Street\\\\0","city":"Lisbon","zip":"00000"},\
            "history":[{"seq":0,"kind":"create","amount":0}]},\
            {"id":1,"name":"user-1","active":false,"score":0.25,"tags":["tag-1","tag-2"],\
            "address":{"street":"2 \\"Quoted\\" Street\\\\1","city":"Zürich","zip":"00001"},\
            "history":[{"seq":0,"kind":"update","amount":1000},{"seq":1,"kind":"delete","amount":1037}]}]}""";

    @Test
    void serializesExactlyTheDocumentWrittenByHand() throws Exception {
        JsonWorkload.Output out = handler.handle(new JsonWorkload.Input(2), null);

        byte[] expected = TWO_RECORDS.getBytes(StandardCharsets.UTF_8);
        assertThat(out.records()).isEqualTo(2);
        assertThat(out.bytes()).isEqualTo(expected.length);
        assertThat(out.sha256()).isEqualTo(Sha.hex(expected));
    }

    @Test
    void emptyDocument() throws Exception {
        JsonWorkload.Output out = handler.handle(new JsonWorkload.Input(0), null);

        String expected = "{\"version\":1,\"generator\":\"thaw-workloads\",\"records\":[]}";
        assertThat(out).isEqualTo(new JsonWorkload.Output(expected.length(), 0, Sha.hex(expected)));
    }

    @Test
    void largerDocumentsRoundTripAndAreReproducible() throws Exception {
        JsonWorkload.Output out = handler.handle(new JsonWorkload.Input(500), null);

        assertThat(out.records()).isEqualTo(500);
        assertThat(handler.handle(new JsonWorkload.Input(500), null)).isEqualTo(out);
        // an independent reading of what was hashed
        byte[] text = new ObjectMapper().writeValueAsBytes(JsonWorkload.document(500));
        assertThat(Sha.hex(text)).isEqualTo(out.sha256());
        JsonNode tree = new ObjectMapper().readTree(text);
        assertThat(tree.get("records")).hasSize(500);
        assertThat(tree.get("records").get(499).get("id").asInt()).isEqualTo(499);
        assertThat(tree.get("records").get(499).get("history")).hasSize(4);
    }

    @Test
    void rejectsBadInput() {
        assertThatThrownBy(() -> handler.handle(null, null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> handler.handle(new JsonWorkload.Input(-1), null)).hasMessageContaining("size");
    }
}
