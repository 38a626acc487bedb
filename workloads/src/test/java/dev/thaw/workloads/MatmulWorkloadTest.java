package dev.thaw.workloads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class MatmulWorkloadTest {

    private final MatmulWorkload handler = new MatmulWorkload();

    @Test
    void multipliesATextbookExample() {
        // [1 2; 3 4] x [5 6; 7 8] = [19 22; 43 50]
        assertThat(MatmulWorkload.multiply(new double[] {1, 2, 3, 4}, new double[] {5, 6, 7, 8}, 2))
                .containsExactly(19, 22, 43, 50);
    }

    @Test
    void twoByTwoComputedByHand() {
        // A = [-2 0; -1 1], B = [-3 -2; 0 1]  =>  A x B = [6 4; 3 3]: trace 9, sum 16
        assertThat(MatmulWorkload.matrixA(2)).containsExactly(-2, 0, -1, 1);
        assertThat(MatmulWorkload.matrixB(2)).containsExactly(-3, -2, 0, 1);
        assertThat(handler.handle(new MatmulWorkload.Input(2), null)).isEqualTo(new MatmulWorkload.Output(2, 9, 16));
        // 1 x 1: (-2) x (-3)
        assertThat(handler.handle(new MatmulWorkload.Input(1), null)).isEqualTo(new MatmulWorkload.Output(1, 6, 6));
    }

    @Test
    void agreesWithTheNaiveTripleLoop() {
        int n = 37;
        double[] a = MatmulWorkload.matrixA(n);
        double[] b = MatmulWorkload.matrixB(n);
        double trace = 0;
        double sum = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double c = 0;
                for (int k = 0; k < n; k++) {
                    c += a[i * n + k] * b[k * n + j];
                }
                sum += c;
                if (i == j) {
                    trace += c;
                }
            }
        }
        // small integers: both orders are exact
        assertThat(handler.handle(new MatmulWorkload.Input(n), null)).isEqualTo(new MatmulWorkload.Output(n, trace, sum));
    }

    @Test
    void rejectsBadInput() {
        assertThatThrownBy(() -> handler.handle(null, null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> handler.handle(new MatmulWorkload.Input(0), null)).hasMessageContaining("n must be");
    }
}
