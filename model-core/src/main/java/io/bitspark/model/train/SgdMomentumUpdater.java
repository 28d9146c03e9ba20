package io.bitspark.model.train;

import java.util.Collections;
import java.util.Map;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.learning.GradientUpdater;

import io.bitspark.model.layers.MomentumKernels;

/** State and step of {@link SgdMomentum}: one velocity per parameter, stored in the updater view array. */
public class SgdMomentumUpdater implements GradientUpdater<SgdMomentum> {

    public static final String VELOCITY = "V";

    private final SgdMomentum config;
    private INDArray v;

    public SgdMomentumUpdater(SgdMomentum config) {
        this.config = config;
    }

    @Override
    public SgdMomentum getConfig() {
        return config;
    }

    @Override
    public void setState(Map<String, INDArray> stateMap, boolean initialize) {
        if (!stateMap.containsKey(VELOCITY) || stateMap.size() != 1) {
            throw new IllegalStateException("state must hold only [" + VELOCITY + "], got " + stateMap.keySet());
        }
        this.v = stateMap.get(VELOCITY);
        if (initialize) {
            v.assign(0);
        }
    }

    @Override
    public Map<String, INDArray> getState() {
        return Collections.singletonMap(VELOCITY, v);
    }

    @Override
    public void setStateViewArray(INDArray viewArray, long[] gradientShape, char gradientOrder, boolean initialize) {
        if (initialize) {
            viewArray.assign(0);
        }
        INDArray shaped = Shape.newShapeNoCopy(viewArray, gradientShape, gradientOrder == 'f');
        if (shaped == null) {
            throw new IllegalStateException("cannot view the momentum state with shape " + java.util.Arrays.toString(gradientShape));
        }
        this.v = shaped;
    }

    /** Turns {@code gradient} into the step DL4J subtracts: {@code v = mu * v + g; step = lr * v}. */
    @Override
    public void applyUpdater(INDArray gradient, int iteration, int epoch) {
        if (v == null) {
            throw new IllegalStateException("updater state was not initialised");
        }
        double lr = config.getLearningRate(iteration, epoch);
        // Small blocks (GroupNorm parameters, narrow kernels): one Java pass instead of four native ops.
        if (!MomentumKernels.smallMomentumStep(v, gradient, config.getMomentum(), lr)) {
            v.muli(config.getMomentum()).addi(gradient.reshape(v.shape()));
            gradient.assign(v.reshape(gradient.shape())).muli(lr);
        }
    }
}
