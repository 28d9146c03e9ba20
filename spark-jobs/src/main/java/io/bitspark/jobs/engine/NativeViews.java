package io.bitspark.jobs.engine;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import io.bitspark.model.layers.NativeMemory;

/**
 * Byte views of ranges of a float vector's native memory, for sockets to read and write without a copy
 * (a view is at most {@link #MAX_VIEW} bytes; vectors of any size, such as BiT-R152x4's 3.7 GB, are walked in
 * views), and element-wise float addition over native memory.
 */
final class NativeViews {

    static final int MAX_VIEW = 1 << 26;
    private static final sun.misc.Unsafe UNSAFE = NativeMemory.unsafe();


    private NativeViews() {}

    /** Bytes {@code [4 * from, 4 * from + bytes)} of float vector {@code v} as a direct buffer (native order). */
    static ByteBuffer bytes(INDArray v, long from, int bytes) {
        if (v.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("expected a float vector, got " + v.dataType());
        }
        if (from < 0 || 4 * from + bytes > 4 * v.length()) {
            throw new IllegalArgumentException("bytes " + 4 * from + ".." + (4 * from + bytes) + " outside a vector of " + v.length() + " floats");
        }
        Pointer base = v.data().addressPointer();
        long start = NativeMemory.address(v) - base.address() + 4 * from;
        BytePointer p = new BytePointer(base).getPointer(BytePointer.class, start);
        p.position(0).capacity(bytes).limit(bytes);
        ByteBuffer b = p.asByteBuffer().order(ByteOrder.nativeOrder());
        if (b.capacity() != bytes || new BytePointer(b).address() != base.address() + start) {
            throw new IllegalStateException("native view of " + bytes + " bytes at offset " + start + " has capacity " + b.capacity()
                    + " at offset " + (new BytePointer(b).address() - base.address()));
        }
        return b;
    }

    static float getFloat(long address) {
        return UNSAFE.getFloat(address);
    }

    static void putFloat(long address, float v) {
        UNSAFE.putFloat(address, v);
    }

    /** {@code dst[i] += src[i]} for {@code n} floats at native addresses. */
    static void addFloats(long dst, long src, int n) {
        for (int i = 0; i < n; i++) {
            long d = dst + 4L * i;
            UNSAFE.putFloat(d, UNSAFE.getFloat(d) + UNSAFE.getFloat(src + 4L * i));
        }
    }
}
