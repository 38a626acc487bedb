package dev.thaw.node.instance;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** A pipe made through FFM carries bytes between streams opened on its /proc paths. */
class PipeTest {

    @Test
    void bytesWrittenToOneEndArriveAtTheOther() throws Exception {
        FileOutputStream out;
        FileInputStream in;
        try (Pipe pipe = Pipe.open()) {
            out = new FileOutputStream(pipe.writeEnd().toFile());
            in = new FileInputStream(pipe.readEnd().toFile());
        }
        try (out; in) {
            out.write("resume\n".getBytes(StandardCharsets.UTF_8));
            out.close();
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("resume\n");
        }
    }
}
