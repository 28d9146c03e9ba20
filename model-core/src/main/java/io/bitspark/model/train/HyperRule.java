package io.bitspark.model.train;

import java.util.Arrays;

import org.nd4j.linalg.schedule.ISchedule;

/**
 * The BiT-HyperRule (Kolesnikov et al., 2020, section 3.3; {@code bit_hyperrule.py} of the release): one
 * fixed set of transfer hyper-parameters chosen from the downstream data set's size and image area alone.
 * SGD momentum 0.9, base lr 0.003, batch 512, no weight decay, a zero-initialised head. The values follow
 * the official release where the paper rounds (the release resizes small images to 160 and crops 128,
 * others to 512 and crops 480; the paper says 448/384).
 */
public final class HyperRule {

    public static final double BASE_LR = 0.003;
    public static final double MOMENTUM = 0.9;
    public static final int BATCH = 512;
    public static final double MIXUP_ALPHA = 0.1;

    /** Data sets below this many examples are "small": 500 steps, no MixUp. */
    public static final long SMALL = 20_000;
    /** Data sets below this many examples are "medium": 10k steps. */
    public static final long MEDIUM = 500_000;

    private HyperRule() {}

    /** Resize then random-crop sizes for training (evaluation resizes straight to the crop size). */
    public record Resolution(int resize, int crop) {}

    /** Images with area under 96x96 pixels are resized to 160 and cropped to 128; others 512 and 480. */
    public static Resolution resolution(int width, int height) {
        return (long) width * height < 96L * 96 ? new Resolution(160, 128) : new Resolution(512, 480);
    }

    /**
     * The schedule's supports in steps: {@code [warmup end, decay, decay, decay, last step]}; the learning rate
     * warms up linearly to the first support, is divided by 10 after each of the next three, and training ends
     * at the last.
     */
    public static long[] supports(long datasetSize) {
        if (datasetSize < SMALL) {
            return new long[] {100, 200, 300, 400, 500};
        }
        if (datasetSize < MEDIUM) {
            return new long[] {500, 3000, 6000, 9000, 10_000};
        }
        return new long[] {500, 6000, 12_000, 18_000, 20_000};
    }

    /** Total steps for a data set size. */
    public static long steps(long datasetSize) {
        long[] s = supports(datasetSize);
        return s[s.length - 1];
    }

    /** MixUp's alpha: 0.1 for data sets of at least 20k examples, else none (0). */
    public static double mixupAlpha(long datasetSize) {
        return datasetSize < SMALL ? 0.0 : MIXUP_ALPHA;
    }

    /**
     * The release's {@code get_lr}: {@code base * step / warmup} during warmup, then {@code base} divided by 10
     * for every later support strictly below {@code step}.
     */
    public static double lr(long step, long[] supports, double base) {
        if (step < supports[0]) {
            return base * step / supports[0];
        }
        double lr = base;
        for (int i = 1; i < supports.length; i++) {
            if (supports[i] < step) {
                lr /= 10;
            }
        }
        return lr;
    }

    /** The schedule as DL4J sees it (iteration = step). */
    public static final class Schedule implements ISchedule {
        private long[] supports;
        private double base;

        /** For JSON deserialization. */
        public Schedule() {}

        public Schedule(long[] supports, double base) {
            this.supports = supports.clone();
            this.base = base;
        }

        @Override
        public double valueAt(int iteration, int epoch) {
            return lr(iteration, supports, base);
        }

        @Override
        public ISchedule clone() {
            return new Schedule(supports, base);
        }

        public long[] getSupports() {
            return supports.clone();
        }

        public void setSupports(long[] supports) {
            this.supports = supports.clone();
        }

        public double getBase() {
            return base;
        }

        public void setBase(double base) {
            this.base = base;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Schedule s && Arrays.equals(s.supports, supports) && s.base == base;
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(supports) * 31 + Double.hashCode(base);
        }

        @Override
        public String toString() {
            return "HyperRule.Schedule(supports=" + Arrays.toString(supports) + ", base=" + base + ")";
        }
    }
}
