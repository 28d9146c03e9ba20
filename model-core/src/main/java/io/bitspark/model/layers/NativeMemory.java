package io.bitspark.model.layers;

import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Native memory of ND4J arrays for the fused kernels: addresses of C-contiguous float or double arrays (views of
 * buffers of any size), copies between native memory and per-thread {@code double[]} scratch (a memcpy, plus a
 * widening loop for float data), and the scratch itself. The kernels compute in the scratch, where it stays in
 * cache between passes, with plain array loops the JIT vectorizes.
 */
public final class NativeMemory {

    private NativeMemory() {}

    /** A C-contiguous float or double array's memory: its first element's address and element type. */
    record Mem(long address, boolean single, long length, Object keepAlive) {}

    private static final sun.misc.Unsafe UNSAFE;
    /** Floats widened per chunk when loading (and narrowed when storing): small enough to stay in L1. */
    private static final int CHUNK = 2048;

    static {
        try {
            java.lang.reflect.Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            UNSAFE = (sun.misc.Unsafe) f.get(null);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * Per-thread scratch: two double rows, per-channel vectors (channels-last kernels) and a float chunk for
     * conversions; grown on demand, kept.
     */
    static final class Scratch {
        double[] a = new double[0];
        double[] b = new double[0];
        double[][] ch = new double[6][0];
        final float[] f = new float[CHUNK];

        Scratch ensure(int n) {
            if (a.length < n) {
                a = new double[n];
                b = new double[n];
            }
            return this;
        }

        double[][] rep = new double[6][0];

        /** Six chunk-length vectors (contents undefined). */
        Scratch repeated(int len) {
            for (int i = 0; i < rep.length; i++) {
                if (rep[i].length < len) {
                    rep[i] = new double[len];
                }
            }
            return this;
        }

        /** Six zeroed vectors of {@code c} doubles. */
        Scratch channels(int c) {
            for (int i = 0; i < ch.length; i++) {
                if (ch[i].length < c) {
                    ch[i] = new double[c];
                } else {
                    java.util.Arrays.fill(ch[i], 0, c, 0.0);
                }
            }
            return this;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** This thread's scratch. */
    static Scratch scratch() {
        return SCRATCH.get();
    }

    /**
     * True when {@code a} can be addressed directly: float or double, C-contiguous. Arrays may sit anywhere
     * in buffers of any size (the parameters of BiT-R152x4 are one 3.7 GB buffer).
     */
    static boolean direct(INDArray a) {
        return (a.dataType() == DataType.FLOAT || a.dataType() == DataType.DOUBLE) && rowMajorContiguous(a);
    }

    /**
     * Row-major with no gaps, judged from shape and strides (ND4J's own ordering flag is unreliable for
     * vectors and unit dimensions).
     */
    static boolean rowMajorContiguous(INDArray a) {
        long expected = 1;
        for (int d = a.rank() - 1; d >= 0; d--) {
            long size = a.size(d);
            if (size != 1 && a.stride(d) != expected) {
                return false;
            }
            expected *= size;
        }
        return true;
    }

    /** Raw memory access for the other native-memory code (optimizer step, exchange buffers, checkpoint streams). */
    public static sun.misc.Unsafe unsafe() {
        return UNSAFE;
    }

    /** Address of the first element of a C-contiguous float or double array (views of buffers of any size). */
    public static long address(INDArray a) {
        return mem(a).address();
    }

    static Mem mem(INDArray a) {
        if (!direct(a)) {
            throw new IllegalArgumentException("array is not C-contiguous float/double: " + a.shapeInfoToString());
        }
        // A view's data() is a view buffer whose address is the view's first element; cross-check it against
        // the original buffer and the array's offset, so a different ND4J convention fails loudly instead of
        // computing on the wrong memory. A plain buffer starts at element 0 and offset() counts from there.
        // (NIO views of the buffer would cap at 2 GB: BiT-R152x4's parameters are one 3.7 GB buffer.)
        DataBuffer d = a.data();
        int width = a.dataType().width();
        DataBuffer original = d.originalDataBuffer();
        long address;
        if (original == null || original == d) {
            address = d.addressPointer().address() + width * a.offset();
            if (a.offset() + a.length() > d.length()) {
                throw new IllegalStateException("array of " + a.length() + " at offset " + a.offset()
                        + " exceeds its buffer of " + d.length());
            }
        } else {
            address = d.addressPointer().address();
            if (original.addressPointer().address() + width * a.offset() != address || a.length() > d.length()) {
                throw new IllegalStateException("cannot address a view of " + a.length() + " at offset " + a.offset()
                        + " in a buffer of " + d.length());
            }
        }
        return new Mem(address, a.dataType() == DataType.FLOAT, a.length(), a);
    }

    /** Copies {@code n} elements of {@code src} from element {@code start} into {@code dst[0..n)} as doubles. */
    static void load(Mem src, long start, double[] dst, int n, float[] chunk) {
        check(src, start, n);
        if (!src.single()) {
            UNSAFE.copyMemory(null, src.address() + 8 * start, dst, sun.misc.Unsafe.ARRAY_DOUBLE_BASE_OFFSET, 8L * n);
            return;
        }
        for (int done = 0; done < n; done += CHUNK) {
            int len = Math.min(CHUNK, n - done);
            UNSAFE.copyMemory(null, src.address() + 4 * (start + done), chunk, sun.misc.Unsafe.ARRAY_FLOAT_BASE_OFFSET, 4L * len);
            for (int i = 0; i < len; i++) {
                dst[done + i] = chunk[i];
            }
        }
    }

    /** Copies {@code src[0..n)} into {@code dst} from element {@code start}, rounding to float for float arrays. */
    static void store(double[] src, int n, Mem dst, long start, float[] chunk) {
        check(dst, start, n);
        if (!dst.single()) {
            UNSAFE.copyMemory(src, sun.misc.Unsafe.ARRAY_DOUBLE_BASE_OFFSET, null, dst.address() + 8 * start, 8L * n);
            return;
        }
        for (int done = 0; done < n; done += CHUNK) {
            int len = Math.min(CHUNK, n - done);
            for (int i = 0; i < len; i++) {
                chunk[i] = (float) src[done + i];
            }
            UNSAFE.copyMemory(chunk, sun.misc.Unsafe.ARRAY_FLOAT_BASE_OFFSET, null, dst.address() + 4 * (start + done), 4L * len);
        }
    }

    /** Copies {@code n} floats of the float array {@code m} from element {@code start} into {@code dst[0..n)}. */
    static void readFloats(Mem m, long start, float[] dst, int n) {
        check(m, start, n);
        UNSAFE.copyMemory(null, m.address() + 4 * start, dst, sun.misc.Unsafe.ARRAY_FLOAT_BASE_OFFSET, 4L * n);
    }

    /** Copies {@code src[0..n)} into the float array {@code m} from element {@code start}. */
    static void writeFloats(float[] src, int n, Mem m, long start) {
        check(m, start, n);
        UNSAFE.copyMemory(src, sun.misc.Unsafe.ARRAY_FLOAT_BASE_OFFSET, null, m.address() + 4 * start, 4L * n);
    }

    static void check(Mem m, long start, int n) {
        if (start < 0 || n < 0 || start + n > m.length()) {
            throw new IndexOutOfBoundsException("elements [" + start + ", " + (start + n) + ") of an array of " + m.length());
        }
    }

    static double get(Mem m, int i) {
        return m.single() ? UNSAFE.getFloat(m.address() + 4L * i) : UNSAFE.getDouble(m.address() + 8L * i);
    }

    static void set(Mem m, int i, double v) {
        if (m.single()) {
            UNSAFE.putFloat(m.address() + 4L * i, (float) v);
        } else {
            UNSAFE.putDouble(m.address() + 8L * i, v);
        }
    }

    /** Loads a small vector (per-channel parameters) once per call. */
    static double[] vector(Mem m, int n) {
        check(m, 0, n);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = get(m, i);
        }
        return v;
    }

    /** Bytes per task of {@link #copy}. */
    private static final long COPY_CHUNK = 1L << 20;

    /**
     * Copies {@code src} into {@code dst} (same element type and length), in chunks of {@value #COPY_CHUNK} bytes on the
     * kernel pool: one thread's memcpy leaves part of the machine's memory bandwidth unused.
     */
    static void copy(Mem src, Mem dst) {
        if (src.single() != dst.single() || src.length() != dst.length()) {
            throw new IllegalArgumentException("copy between arrays of different type or length: " + src.length() + ", "
                    + dst.length());
        }
        long bytes = src.length() * (src.single() ? 4 : 8);
        int chunks = (int) ((bytes + COPY_CHUNK - 1) / COPY_CHUNK);
        KernelPool.parallelFor(chunks, c -> {
            long at = c * COPY_CHUNK;
            UNSAFE.copyMemory(src.address() + at, dst.address() + at, Math.min(COPY_CHUNK, bytes - at));
        });
    }
}
