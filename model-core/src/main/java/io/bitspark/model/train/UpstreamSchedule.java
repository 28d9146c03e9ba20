package io.bitspark.model.train;

import java.util.Arrays;
import java.util.Objects;

import org.nd4j.linalg.schedule.ISchedule;

/**
 * BiT's upstream learning-rate schedule as a pure function of the global step: linear warmup from 0 to
 * {@code peak} over {@code warmupSteps} ({@code lr = peak * step / warmup}, as the release's
 * {@code get_lr}), then {@code peak * factor^k} where k counts the boundaries {@code <= step}. The peak is
 * {@code base * global_batch / 256} (the linear scaling rule), computed by the caller. DL4J calls it with
 * the network's iteration count, which training keeps equal to the global step on every worker.
 *
 * <p>{@link #cosine}: big_vision's alternative after the same warmup, {@code peak * (1 + cos(pi * p)) / 2} with
 * {@code p = (step - warmup) / (total - warmup)}, reaching 0 at {@code total}.
 */
public final class UpstreamSchedule implements ISchedule {

    private double peak;
    private long warmupSteps;
    private long[] boundaries;
    private double factor;
    /** Total steps of a cosine decay; 0: step decays at the boundaries. */
    private long cosineSteps;

    /** For JSON deserialization. */
    public UpstreamSchedule() {}

    public UpstreamSchedule(double peak, long warmupSteps, long[] boundaries, double factor) {
        if (!(peak > 0) || warmupSteps < 0 || !(factor > 0 && factor <= 1)) {
            throw new IllegalArgumentException("invalid schedule: peak " + peak + ", warmup " + warmupSteps + ", factor " + factor);
        }
        long[] b = boundaries.clone();
        for (int i = 1; i < b.length; i++) {
            if (b[i] < b[i - 1]) {
                throw new IllegalArgumentException("decay boundaries must be ascending: " + Arrays.toString(b));
            }
        }
        this.peak = peak;
        this.warmupSteps = warmupSteps;
        this.boundaries = b;
        this.factor = factor;
    }

    /** Linear warmup to {@code peak}, then a cosine decay to 0 at step {@code totalSteps}. */
    public static UpstreamSchedule cosine(double peak, long warmupSteps, long totalSteps) {
        if (totalSteps <= warmupSteps) {
            throw new IllegalArgumentException("a cosine decay needs more steps (" + totalSteps + ") than warmup (" + warmupSteps + ")");
        }
        UpstreamSchedule s = new UpstreamSchedule(peak, warmupSteps, new long[0], 1.0);
        s.cosineSteps = totalSteps;
        return s;
    }

    /** Learning rate at a global step. */
    public double lr(long step) {
        if (step < warmupSteps) {
            return peak * step / warmupSteps;
        }
        if (cosineSteps > 0) {
            double p = Math.min(1.0, (step - warmupSteps) / (double) (cosineSteps - warmupSteps));
            return peak * 0.5 * (1 + Math.cos(Math.PI * p));
        }
        double lr = peak;
        for (long b : boundaries) {
            if (step >= b) {
                lr *= factor;
            }
        }
        return lr;
    }

    @Override
    public double valueAt(int iteration, int epoch) {
        return lr(iteration);
    }

    @Override
    public ISchedule clone() {
        UpstreamSchedule c = new UpstreamSchedule(peak, warmupSteps, boundaries, factor);
        c.cosineSteps = cosineSteps;
        return c;
    }

    public long getCosineSteps() {
        return cosineSteps;
    }

    public void setCosineSteps(long cosineSteps) {
        this.cosineSteps = cosineSteps;
    }

    public double getPeak() {
        return peak;
    }

    public void setPeak(double peak) {
        this.peak = peak;
    }

    public long getWarmupSteps() {
        return warmupSteps;
    }

    public void setWarmupSteps(long warmupSteps) {
        this.warmupSteps = warmupSteps;
    }

    public long[] getBoundaries() {
        return boundaries.clone();
    }

    public void setBoundaries(long[] boundaries) {
        this.boundaries = boundaries.clone();
    }

    public double getFactor() {
        return factor;
    }

    public void setFactor(double factor) {
        this.factor = factor;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof UpstreamSchedule s && s.peak == peak && s.warmupSteps == warmupSteps
                && Arrays.equals(s.boundaries, boundaries) && s.factor == factor && s.cosineSteps == cosineSteps;
    }

    @Override
    public int hashCode() {
        return Objects.hash(peak, warmupSteps, Arrays.hashCode(boundaries), factor, cosineSteps);
    }

    @Override
    public String toString() {
        return cosineSteps > 0 ? "UpstreamSchedule(peak=" + peak + ", warmup=" + warmupSteps + ", cosine to step " + cosineSteps + ")"
                : "UpstreamSchedule(peak=" + peak + ", warmup=" + warmupSteps + ", boundaries=" + Arrays.toString(boundaries)
                + ", factor=" + factor + ")";
    }
}
