package io.bitspark.model.stats;

import java.util.Arrays;
import java.util.Collection;

/** Summary statistics shared by benchmarks, reports, few-shot evaluation and the planner: one definition each. */
public final class Stats {

    private Stats() {}

    /** The median: the middle value, or the mean of the two middle values of an even count; NaN for none. The input is not changed. */
    public static double median(double... values) {
        int n = values.length;
        if (n == 0) {
            return Double.NaN;
        }
        double[] s = values.clone();
        Arrays.sort(s);
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    public static double median(Collection<? extends Number> values) {
        return median(values.stream().mapToDouble(Number::doubleValue).toArray());
    }
}
