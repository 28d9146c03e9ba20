package io.bitspark.model.train;

import java.util.Map;
import java.util.Objects;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.schedule.ISchedule;

/**
 * SGD with heavy-ball momentum in the form of TensorFlow's {@code MomentumOptimizer} and PyTorch's
 * {@code SGD(momentum=...)}, which BiT uses: {@code v = momentum * v + g; w -= lr * v}. DL4J's
 * {@code Nesterovs} is a different (Nesterov) update and its velocity absorbs the learning rate, so a
 * learning-rate step changes the effective momentum there; here the learning rate stays outside.
 */
public class SgdMomentum implements IUpdater {

    public static final double BIT_MOMENTUM = 0.9;

    private double learningRate = 0.03;
    private ISchedule learningRateSchedule;
    private double momentum = BIT_MOMENTUM;

    /** For JSON deserialization. */
    public SgdMomentum() {}

    public SgdMomentum(double learningRate, double momentum) {
        this.learningRate = learningRate;
        this.momentum = momentum;
    }

    public SgdMomentum(ISchedule learningRateSchedule, double momentum) {
        this.learningRate = Double.NaN;
        this.learningRateSchedule = learningRateSchedule;
        this.momentum = momentum;
    }

    @Override
    public long stateSize(long numParams) {
        return numParams;
    }

    @Override
    public GradientUpdater instantiate(INDArray viewArray, boolean initializeViewArray) {
        SgdMomentumUpdater u = new SgdMomentumUpdater(this);
        INDArray flat = viewArray.reshape(viewArray.length());
        u.setStateViewArray(flat, flat.shape(), flat.ordering(), initializeViewArray);
        return u;
    }

    @Override
    public GradientUpdater instantiate(Map<String, INDArray> updaterState, boolean initializeStateArrays) {
        SgdMomentumUpdater u = new SgdMomentumUpdater(this);
        u.setState(updaterState, initializeStateArrays);
        return u;
    }

    @Override
    public SgdMomentum clone() {
        SgdMomentum c = new SgdMomentum(learningRate, momentum);
        c.learningRateSchedule = learningRateSchedule == null ? null : learningRateSchedule.clone();
        return c;
    }

    @Override
    public double getLearningRate(int iteration, int epoch) {
        return learningRateSchedule != null ? learningRateSchedule.valueAt(iteration, epoch) : learningRate;
    }

    @Override
    public boolean hasLearningRate() {
        return true;
    }

    @Override
    public void setLrAndSchedule(double lr, ISchedule lrSchedule) {
        this.learningRate = lr;
        this.learningRateSchedule = lrSchedule;
    }

    public double getLearningRate() {
        return learningRate;
    }

    public void setLearningRate(double learningRate) {
        this.learningRate = learningRate;
    }

    public ISchedule getLearningRateSchedule() {
        return learningRateSchedule;
    }

    public void setLearningRateSchedule(ISchedule learningRateSchedule) {
        this.learningRateSchedule = learningRateSchedule;
    }

    public double getMomentum() {
        return momentum;
    }

    public void setMomentum(double momentum) {
        this.momentum = momentum;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SgdMomentum s && Double.compare(learningRate, s.learningRate) == 0
                && Double.compare(momentum, s.momentum) == 0
                && Objects.equals(learningRateSchedule, s.learningRateSchedule);
    }

    @Override
    public int hashCode() {
        return Objects.hash(learningRate, learningRateSchedule, momentum);
    }

    @Override
    public String toString() {
        return "SgdMomentum(lr=" + (learningRateSchedule != null ? learningRateSchedule : learningRate)
                + ", momentum=" + momentum + ")";
    }
}
