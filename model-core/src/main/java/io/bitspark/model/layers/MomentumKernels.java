package io.bitspark.model.layers;

import static io.bitspark.model.layers.NativeMemory.direct;
import static io.bitspark.model.layers.NativeMemory.load;
import static io.bitspark.model.layers.NativeMemory.mem;
import static io.bitspark.model.layers.NativeMemory.store;

import org.nd4j.linalg.api.ndarray.INDArray;

import io.bitspark.model.layers.NativeMemory.Mem;
import io.bitspark.model.layers.NativeMemory.Scratch;

/** The momentum step of DL4J's per-block updater for small blocks (the fused update of whole vectors is ShardedSgd). */
public final class MomentumKernels {

    private MomentumKernels() {}

    /** Below this many elements one Java pass beats ND4J's four native ops (their per-op cost dominates). */
    public static final int SMALL_STEP = 1 << 15;

    /**
     * Heavy-ball momentum for a small parameter block in one sequential pass:
     * {@code v = mu * v + g; g = lr * v} (g becomes the step DL4J subtracts). Returns false, doing nothing,
     * for blocks of {@link #SMALL_STEP} or more elements or arrays that cannot be addressed directly; the
     * caller then uses ND4J ops, which stream large blocks faster.
     */
    public static boolean smallMomentumStep(INDArray velocity, INDArray gradient, double mu, double lr) {
        long n = velocity.length();
        if (n >= SMALL_STEP || gradient.length() != n || velocity.dataType() != gradient.dataType()
                || !direct(velocity) || !direct(gradient)) {
            return false;
        }
        Mem v = mem(velocity);
        Mem g = mem(gradient);
        Scratch s = NativeMemory.scratch().ensure((int) n);
        double[] va = s.a;
        double[] ga = s.b;
        load(v, 0, va, (int) n, s.f);
        load(g, 0, ga, (int) n, s.f);
        for (int i = 0; i < n; i++) {
            double vi = mu * va[i] + ga[i];
            va[i] = vi;
            ga[i] = lr * vi;
        }
        store(va, (int) n, v, 0, s.f);
        store(ga, (int) n, g, 0, s.f);
        return true;
    }
}
