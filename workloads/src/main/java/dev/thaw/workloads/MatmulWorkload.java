package dev.thaw.workloads;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;

/**
 * FunctionBench's {@code matmul}: multiply two dense {@code n x n} matrices. Handler:
 * {@code dev.thaw.workloads.MatmulWorkload::handle}.
 *
 * <p>{@code A[i][j] = (i + 2j) mod 5 - 2} and {@code B[i][j] = (3i + j) mod 7 - 3}: small integers,
 * so every product and sum is exact in {@code double} and the result can be checked by hand. The
 * multiplication is plain Java over row-major arrays in i-k-j order, so the inner loop walks both
 * {@code B} and {@code C} sequentially.
 */
public class MatmulWorkload implements Handler<MatmulWorkload.Input, MatmulWorkload.Output> {

    /** @param n the matrices' size (1 to 2048) */
    public record Input(int n) {
    }

    /**
     * @param n the matrices' size
     * @param trace sum of the product's diagonal
     * @param sum sum of all the product's entries
     */
    public record Output(int n, double trace, double sum) {
    }

    /** Creates the handler; there is nothing to set up. */
    public MatmulWorkload() {
    }

    @Override
    public Output handle(Input input, InvocationContext context) {
        Inputs.required(input, "{\"n\":200}");
        int n = Inputs.inRange("n", input.n(), 1, 2048);
        double[] c = multiply(matrixA(n), matrixB(n), n);
        double trace = 0;
        double sum = 0;
        for (int i = 0; i < n; i++) {
            trace += c[i * n + i];
            for (int j = 0; j < n; j++) {
                sum += c[i * n + j];
            }
        }
        return new Output(n, trace, sum);
    }

    static double[] matrixA(int n) {
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                a[i * n + j] = (i + 2 * j) % 5 - 2;
            }
        }
        return a;
    }

    static double[] matrixB(int n) {
        double[] b = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                b[i * n + j] = (3 * i + j) % 7 - 3;
            }
        }
        return b;
    }

    /** @return {@code a x b} for row-major {@code n x n} matrices */
    static double[] multiply(double[] a, double[] b, int n) {
        double[] c = new double[n * n];
        for (int i = 0; i < n; i++) {
            int row = i * n;
            for (int k = 0; k < n; k++) {
                double aik = a[row + k];
                int bRow = k * n;
                for (int j = 0; j < n; j++) {
                    c[row + j] += aik * b[bRow + j];
                }
            }
        }
        return c;
    }
}
