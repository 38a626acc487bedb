package dev.thaw.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ProcStatTest {

    /** Fields are counted after the last ')', whatever the command name holds. */
    @Test
    void readsPastACommandNameWithSpacesAndParentheses() {
        StringBuilder line = new StringBuilder("4242 (a) (b c) R 1");
        for (int field = 5; field <= 40; field++) {
            line.append(' ').append(field);
        }
        line.append(" 5 0 0\n"); // field 41 (policy) is 5, then two more
        assertThat(ProcStat.parse(line.toString())).isEqualTo(new ProcStat('R', 5));
        assertThatThrownBy(() -> ProcStat.parse("4242 (short) S 1 2")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a /proc stat line");
    }

    @Test
    void readsThisThreadAndNothingOfAThreadThatIsGone() {
        assertThat(ProcStat.read(Path.of("/proc/thread-self/stat"))).hasValueSatisfying(s -> assertThat(s.state()).isEqualTo('R'));
        assertThat(ProcStat.read(Path.of("/proc/self/task/0/stat"))).isEmpty();
    }
}
