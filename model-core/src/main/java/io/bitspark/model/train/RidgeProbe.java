package io.bitspark.model.train;

import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.CholeskyDecomposition;
import org.apache.commons.math3.linear.RealMatrix;

/**
 * A linear probe on frozen features by closed-form ridge regression onto one-hot targets (with a bias
 * column): {@code W = (X'X + lambda I)^-1 X'Y}; the predicted class is the argmax of {@code xW}.
 */
public final class RidgeProbe {

    private final double[][] weights;

    private RidgeProbe(double[][] weights) {
        this.weights = weights;
    }

    public static RidgeProbe fit(float[][] features, int[] labels, int classes, double lambda) {
        int n = features.length;
        int d = features[0].length + 1;
        double[][] x = new double[n][d];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d - 1; j++) {
                x[i][j] = features[i][j];
            }
            x[i][d - 1] = 1;
        }
        RealMatrix xm = new Array2DRowRealMatrix(x, false);
        RealMatrix gram = xm.transpose().multiply(xm);
        for (int j = 0; j < d - 1; j++) {
            gram.addToEntry(j, j, lambda);
        }
        gram.addToEntry(d - 1, d - 1, 1e-8);
        double[][] y = new double[n][classes];
        for (int i = 0; i < n; i++) {
            y[i][labels[i]] = 1;
        }
        RealMatrix rhs = xm.transpose().multiply(new Array2DRowRealMatrix(y, false));
        RealMatrix w = new CholeskyDecomposition(gram, 1e-12, 1e-14).getSolver().solve(rhs);
        return new RidgeProbe(w.getData());
    }

    public int predict(float[] feature) {
        int classes = weights[0].length;
        int best = 0;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < classes; c++) {
            double s = weights[feature.length][c];
            for (int j = 0; j < feature.length; j++) {
                s += feature[j] * weights[j][c];
            }
            if (s > bestScore) {
                bestScore = s;
                best = c;
            }
        }
        return best;
    }

    public double accuracy(float[][] features, int[] labels) {
        int hits = 0;
        for (int i = 0; i < features.length; i++) {
            if (predict(features[i]) == labels[i]) {
                hits++;
            }
        }
        return features.length == 0 ? Double.NaN : hits / (double) features.length;
    }
}
