package io.bitspark.model.layers;

import java.util.Random;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Shared set-up for finite-difference gradient checks (double precision, central differences). */
public final class GradientChecks {

    /** Central-difference step. */
    public static final double EPS = 1e-6;
    /** Relative error allowed per parameter; exact backprop in double lands around 1e-8 or below. */
    public static final double MAX_REL_ERROR = 1e-5;
    /**
     * Below this absolute difference a parameter passes whatever its relative error. The central difference
     * of a score of magnitude ~5 in double carries about 5 * 2^-52 / 1e-6 ~ 1e-9 of rounding noise, so
     * gradients below ~1e-8 cannot be resolved; this is DL4J's own default.
     */
    public static final double MIN_ABS_ERROR = 1e-8;

    private GradientChecks() {}

    public static void useDouble() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    /**
     * A float32 network of {@code preset} at {@code size} px, {@code layout} (null: the default), SGD momentum (lr, 0.9)
     * and L2 {@code weightDecay}, every parameter replaced by an N(0, scale^2) draw from {@code seed}: the small networks
     * the layer and optimizer tests train.
     */
    public static ComputationGraph floatNet(String preset, int size, org.deeplearning4j.nn.conf.CNN2DFormat layout,
                                            double lr, double weightDecay, long seed, double scale) {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        ComputationGraph n = io.bitspark.model.arch.ResNetV2Builder.build(io.bitspark.model.arch.ResNetV2Presets.get(preset),
                io.bitspark.model.arch.ModelOptions.defaults().withUpdater(new io.bitspark.model.train.SgdMomentum(lr, 0.9))
                        .withWeightDecay(weightDecay).withInputSize(size, size).withLayout(layout));
        randomizeParams(n, seed, scale);
        return n;
    }

    /** Replaces every parameter (including zero-initialised heads) by N(0, scale^2) draws from {@code seed}. */
    public static void randomizeParams(ComputationGraph net, long seed, double scale) {
        Random r = new Random(seed);
        INDArray p = net.params();
        double[] v = new double[(int) p.length()];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextGaussian() * scale;
        }
        p.assign(Nd4j.createFromArray(v).reshape(p.shape()));
    }

    public static INDArray gaussian(long seed, long... shape) {
        Random r = new Random(seed);
        INDArray a = Nd4j.create(DataType.DOUBLE, shape);
        for (long i = 0; i < a.length(); i++) {
            a.putScalar(i, r.nextGaussian());
        }
        return a;
    }

    public static INDArray oneHot(long seed, int n, int classes) {
        Random r = new Random(seed);
        INDArray y = Nd4j.zeros(DataType.DOUBLE, n, classes);
        for (int i = 0; i < n; i++) {
            y.putScalar(i, r.nextInt(classes), 1.0);
        }
        return y;
    }

    public static INDArray kHot(long seed, int n, int classes) {
        Random r = new Random(seed);
        INDArray y = Nd4j.zeros(DataType.DOUBLE, n, classes);
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < classes; c++) {
                if (r.nextDouble() < 0.3) {
                    y.putScalar(i, c, 1.0);
                }
            }
        }
        return y;
    }

    public static boolean check(ComputationGraph net, INDArray input, INDArray labels) {
        return GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig()
                .net(net)
                .inputs(new INDArray[] {input})
                .labels(new INDArray[] {labels})
                .epsilon(EPS)
                .maxRelError(MAX_REL_ERROR)
                .minAbsoluteError(MIN_ABS_ERROR)
                .print(GradientCheckUtil.PrintMode.FAILURES_ONLY)
                .exitOnFirstError(false));
    }
}
