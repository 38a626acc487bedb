package dev.thaw.workloads;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * FunctionBench's model training and serving workloads, on data shipped in the JAR: a logistic
 * regression trained during init, serving predictions per invocation. Handler:
 * {@code dev.thaw.workloads.MlWorkload::handle}.
 *
 * <p>The training set is {@code ml-points.csv} (a resource: {@code x1,x2,label}, 500 points of two
 * overlapping Gaussian classes, generated with a fixed seed). Init standardizes the features and runs
 * {@value #EPOCHS} epochs of full-batch gradient descent on the log loss with a little L2. Each
 * invocation classifies the given points: label 1 when the predicted probability is at least 0.5.
 */
public class MlWorkload implements Handler<MlWorkload.Input, MlWorkload.Output> {

    /** @param features the points to classify, each {@code [x1, x2]} (at most 100000) */
    public record Input(double[][] features) {
    }

    /**
     * @param predictions the predicted label (0 or 1) of each point, in order
     * @param probabilities the predicted probability of label 1 for each point
     * @param modelAccuracyOnTrainingSet fraction of the training set the model classifies right
     */
    public record Output(List<Integer> predictions, List<Double> probabilities, double modelAccuracyOnTrainingSet) {
    }

    /** The training set: rows of features and their labels. */
    record Dataset(double[][] x, int[] y) {
    }

    static final String RESOURCE = "ml-points.csv";
    static final int FEATURES = 2;
    static final int EPOCHS = 500;
    static final double LEARNING_RATE = 0.5;
    static final double L2 = 1e-4;

    private final double[] mean = new double[FEATURES];
    private final double[] scale = new double[FEATURES];
    /** weights[0] is the bias; weights[1..] go with the standardized features */
    private final double[] weights = new double[FEATURES + 1];
    private final double trainingAccuracy;

    /** Creates the handler; loads the training set and trains the model. */
    public MlWorkload() {
        Dataset data = load();
        train(data);
        int right = 0;
        for (int i = 0; i < data.y().length; i++) {
            if (label(probability(data.x()[i])) == data.y()[i]) {
                right++;
            }
        }
        trainingAccuracy = (double) right / data.y().length;
    }

    @Override
    public Output handle(Input input, InvocationContext context) {
        Inputs.required(input, "{\"features\":[[2.0,1.5],[-2.0,-1.0]]}");
        double[][] points = input.features() == null ? new double[0][] : input.features();
        Inputs.inRange("number of points", points.length, 0, 100_000);
        List<Integer> predictions = new ArrayList<>(points.length);
        List<Double> probabilities = new ArrayList<>(points.length);
        for (int i = 0; i < points.length; i++) {
            if (points[i] == null || points[i].length != FEATURES) {
                throw new IllegalArgumentException("features[" + i + "] must have " + FEATURES + " numbers, was "
                        + (points[i] == null ? "null" : points[i].length + " long"));
            }
            double p = probability(points[i]);
            predictions.add(label(p));
            probabilities.add(p);
        }
        return new Output(List.copyOf(predictions), List.copyOf(probabilities), trainingAccuracy);
    }

    /** @return the model's probability that {@code point} has label 1 */
    final double probability(double[] point) {
        double z = weights[0];
        for (int f = 0; f < FEATURES; f++) {
            z += weights[f + 1] * (point[f] - mean[f]) / scale[f];
        }
        return 1 / (1 + Math.exp(-z));
    }

    double trainingAccuracy() {
        return trainingAccuracy;
    }

    static int label(double probability) {
        return probability >= 0.5 ? 1 : 0;
    }

    private void train(Dataset data) {
        double[][] x = data.x();
        int[] y = data.y();
        int n = y.length;
        for (int f = 0; f < FEATURES; f++) {
            double sum = 0;
            for (double[] row : x) {
                sum += row[f];
            }
            mean[f] = sum / n;
            double squares = 0;
            for (double[] row : x) {
                squares += (row[f] - mean[f]) * (row[f] - mean[f]);
            }
            double sd = Math.sqrt(squares / n);
            scale[f] = sd > 0 ? sd : 1;
        }
        double[][] z = new double[n][FEATURES];
        for (int i = 0; i < n; i++) {
            for (int f = 0; f < FEATURES; f++) {
                z[i][f] = (x[i][f] - mean[f]) / scale[f];
            }
        }
        double[] gradient = new double[FEATURES + 1];
        for (int epoch = 0; epoch < EPOCHS; epoch++) {
            Arrays.fill(gradient, 0);
            for (int i = 0; i < n; i++) {
                double s = weights[0];
                for (int f = 0; f < FEATURES; f++) {
                    s += weights[f + 1] * z[i][f];
                }
                double error = 1 / (1 + Math.exp(-s)) - y[i];
                gradient[0] += error;
                for (int f = 0; f < FEATURES; f++) {
                    gradient[f + 1] += error * z[i][f];
                }
            }
            weights[0] -= LEARNING_RATE * gradient[0] / n;
            for (int f = 0; f < FEATURES; f++) {
                weights[f + 1] -= LEARNING_RATE * (gradient[f + 1] / n + L2 * weights[f + 1]);
            }
        }
    }

    /** @return the training set from the JAR */
    static Dataset load() {
        try (InputStream in = MlWorkload.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the training set " + RESOURCE + " is missing from the JAR");
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            String header = reader.readLine();
            if (!"x1,x2,label".equals(header)) {
                throw new IllegalStateException(RESOURCE + " must start with the header x1,x2,label, was " + header);
            }
            List<double[]> xs = new ArrayList<>();
            List<Integer> ys = new ArrayList<>();
            String line;
            int lineNumber = 1;
            while ((line = reader.readLine()) != null) {
                lineNumber++;
                if (line.isBlank()) {
                    continue;
                }
                String[] fields = line.split(",");
                if (fields.length != FEATURES + 1) {
                    throw new IllegalStateException(RESOURCE + ":" + lineNumber + ": expected 3 fields: " + line);
                }
                xs.add(new double[] {Double.parseDouble(fields[0]), Double.parseDouble(fields[1])});
                ys.add(Integer.parseInt(fields[2]));
            }
            return new Dataset(xs.toArray(double[][]::new), ys.stream().mapToInt(Integer::intValue).toArray());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the training set " + RESOURCE, e);
        }
    }
}
