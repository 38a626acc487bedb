package dev.thaw.workloads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class MlWorkloadTest {

    private static final MlWorkload HANDLER = new MlWorkload();

    private static String shippedCsv() throws Exception {
        try (InputStream in = MlWorkload.class.getResourceAsStream("ml-points.csv")) {
            assertThat(in).as("ml-points.csv on the class path").isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void shippedTrainingSetIsTheGeneratedOne() throws Exception {
        String csv = shippedCsv();
        assertThat(csv).isEqualTo(MlDataset.csv());
        assertThat(csv.lines()).hasSize(1 + 500);
    }

    @Test
    void modelIsAccurateOnItsTrainingSet() throws Exception {
        assertThat(HANDLER.trainingAccuracy()).isGreaterThan(0.9);

        // recount independently: parse the CSV here and ask the handler for every point
        List<String> rows = shippedCsv().lines().skip(1).toList();
        double[][] points = new double[rows.size()][];
        int[] labels = new int[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            String[] f = rows.get(i).split(",");
            points[i] = new double[] {Double.parseDouble(f[0]), Double.parseDouble(f[1])};
            labels[i] = Integer.parseInt(f[2]);
        }
        MlWorkload.Output out = HANDLER.handle(new MlWorkload.Input(points), null);
        int right = 0;
        for (int i = 0; i < labels.length; i++) {
            if (out.predictions().get(i) == labels[i]) {
                right++;
            }
        }
        assertThat(out.modelAccuracyOnTrainingSet()).isEqualTo((double) right / labels.length);
    }

    @Test
    void classifiesKnownPoints() {
        MlWorkload.Output out = HANDLER.handle(new MlWorkload.Input(new double[][] {
                {3.0, 2.0}, {-3.0, -2.0}, {1.5, 1.0}, {-1.5, -1.0}}), null);

        assertThat(out.predictions()).containsExactly(1, 0, 1, 0);
        assertThat(out.probabilities().get(0)).isGreaterThan(0.95);
        assertThat(out.probabilities().get(1)).isLessThan(0.05);
        assertThat(out.probabilities()).allSatisfy(p -> assertThat(p).isBetween(0.0, 1.0));
    }

    @Test
    void noPointsNoPredictions() {
        MlWorkload.Output out = HANDLER.handle(new MlWorkload.Input(new double[0][]), null);
        assertThat(out.predictions()).isEmpty();
        assertThat(out.modelAccuracyOnTrainingSet()).isGreaterThan(0.9);
    }

    @Test
    void trainingIsDeterministic() {
        MlWorkload other = new MlWorkload();
        double[] point = {0.3, -0.2};
        assertThat(other.probability(point)).isEqualTo(HANDLER.probability(point));
        assertThat(other.trainingAccuracy()).isEqualTo(HANDLER.trainingAccuracy());
    }

    @Test
    void rejectsBadInput() {
        assertThatThrownBy(() -> HANDLER.handle(null, null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> HANDLER.handle(new MlWorkload.Input(new double[][] {{1.0, 2.0}, {1.0}}), null))
                .hasMessageContaining("features[1]");
    }
}
