package io.bitspark.model.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class NativeMemoryTest {

    /** The chunked copy, float and double, for lengths below, at and across chunk edges, into a view of a larger buffer. */
    @Test
    void copyIsExactAcrossChunks() {
        for (DataType t : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            int perChunk = (1 << 20) / (t == DataType.FLOAT ? 4 : 8);
            for (int n : new int[] {1, 1000, perChunk, perChunk + 1, 3 * perChunk - 7}) {
                INDArray src = GradientChecks.gaussian(n, n).castTo(t);
                INDArray buffer = Nd4j.zeros(t, n + 20);
                INDArray dst = buffer.get(NDArrayIndex.interval(10, n + 10));
                NativeMemory.copy(NativeMemory.mem(src), NativeMemory.mem(dst));
                assertEquals(src, dst, t + " n=" + n);
                assertEquals(0.0, buffer.get(NDArrayIndex.interval(0, 10)).amaxNumber().doubleValue(), "before the view");
                assertEquals(0.0, buffer.get(NDArrayIndex.interval(n + 10, n + 20)).amaxNumber().doubleValue(), "after the view");
            }
        }
        assertThrows(IllegalArgumentException.class, () -> NativeMemory.copy(NativeMemory.mem(Nd4j.zeros(DataType.FLOAT, 4)),
                NativeMemory.mem(Nd4j.zeros(DataType.DOUBLE, 4))));
    }
}
