package io.bitspark.model.train;

import java.util.Random;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * MixUp (Zhang et al., 2018) as the BiT release applies it: one {@code lambda ~ Beta(alpha, alpha)} per
 * batch, each example mixed with the example at a random permutation, inputs and (soft) labels alike.
 */
public final class MixUp {

    private MixUp() {}

    /** A Beta(alpha, alpha) draw from two Gamma(alpha) draws (Marsaglia-Tsang, with the alpha < 1 boost). */
    public static double lambda(double alpha, Random rng) {
        double a = gamma(alpha, rng);
        double b = gamma(alpha, rng);
        return a + b == 0 ? 0.5 : a / (a + b);
    }

    static double gamma(double shape, Random rng) {
        if (shape < 1) {
            double u = rng.nextDouble();
            return gamma(shape + 1, rng) * Math.pow(u, 1 / shape);
        }
        double d = shape - 1.0 / 3;
        double c = 1 / Math.sqrt(9 * d);
        while (true) {
            double x = rng.nextGaussian();
            double v = 1 + c * x;
            if (v <= 0) {
                continue;
            }
            v = v * v * v;
            double u = rng.nextDouble();
            if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) {
                return d * v;
            }
        }
    }

    /** {@code lambda * batch + (1 - lambda) * batch[perm]} for features and labels. */
    public static DataSet mix(DataSet batch, double lambda, Random rng) {
        int n = (int) batch.getFeatures().size(0);
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) {
            perm[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        INDArray x = batch.getFeatures().mul(lambda).addi(Nd4j.pullRows(batch.getFeatures().reshape(n, -1), 1, perm)
                .reshape(batch.getFeatures().shape()).muli(1 - lambda));
        INDArray y = batch.getLabels().mul(lambda).addi(Nd4j.pullRows(batch.getLabels(), 1, perm).muli(1 - lambda));
        return new DataSet(x, y);
    }
}
