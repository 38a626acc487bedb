package dev.thaw.workloads;

import java.util.Locale;
import java.util.Random;

/**
 * Generates {@code src/main/resources/dev/thaw/workloads/ml-points.csv}, the ML workload's training
 * set: 500 points, alternating labels, class 1 around (1.5, 1.0) and class 0 around (-1.5, -1.0),
 * unit Gaussian noise from a fixed seed ({@link Random}'s algorithm is specified, so the output is
 * the same on every JDK). {@code MlWorkloadTest} checks that the shipped file is exactly this.
 * Regenerate with {@code java workloads/src/test/java/dev/thaw/workloads/MlDataset.java > FILE}.
 */
final class MlDataset {

    static final long SEED = 20_240_601L;
    static final int ROWS = 500;

    private MlDataset() {
    }

    static String csv() {
        Random random = new Random(SEED);
        StringBuilder csv = new StringBuilder("x1,x2,label\n");
        for (int i = 0; i < ROWS; i++) {
            int label = i % 2;
            double cx = label == 1 ? 1.5 : -1.5;
            double cy = label == 1 ? 1.0 : -1.0;
            double x1 = cx + random.nextGaussian();
            double x2 = cy + random.nextGaussian();
            csv.append(String.format(Locale.ROOT, "%.4f,%.4f,%d\n", x1, x2, label));
        }
        return csv.toString();
    }

    public static void main(String[] args) {
        System.out.print(csv());
    }
}
