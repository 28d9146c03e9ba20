package io.bitspark.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import io.bitspark.model.arch.ModelOptions;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Presets;
import io.bitspark.model.layers.NativeMemory;
import io.bitspark.model.layers.GradientChecks;
import io.bitspark.model.train.ParameterLayout;
import io.bitspark.model.train.SgdMomentum;

class StreamedModelZipTest {

    static Map<String, byte[]> entries(byte[] zip) throws Exception {
        Map<String, byte[]> out = new TreeMap<>();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                out.put(e.getName(), in.readAllBytes());
            }
        }
        return out;
    }

    /** The momentum streamed in three slices gives the same entries as ModelSerializer, and restores the same. */
    @Test
    void slicesStreamedEqualModelSerializer() throws Exception {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        ComputationGraph net = ResNetV2Builder.build(ResNetV2Presets.get("micro"), ModelOptions.defaults()
                .withUpdater(new SgdMomentum(0.1, 0.9)).withInputSize(16, 16).withSeed(3));
        net.fit(new DataSet(GradientChecks.gaussian(1, 4, 3, 16, 16).castTo(DataType.FLOAT),
                GradientChecks.oneHot(2, 4, 5).castTo(DataType.FLOAT)));
        INDArray state = net.getUpdater().getStateViewArray();
        ByteArrayOutputStream a = new ByteArrayOutputStream();
        ModelSerializer.writeModel(net, a, true);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        INDArray flat = state.reshape(state.length());
        long base = NativeMemory.address(flat);
        StreamedModelZip.write(b, net, state.length(), sink -> {
            for (int r = 0; r < 3; r++) {
                long[] s = ParameterLayout.slice(state.length(), r, 3);
                sink.put(base + 4 * s[0], s[1] - s[0]);
            }
        });
        Map<String, byte[]> ea = entries(a.toByteArray());
        Map<String, byte[]> eb = entries(b.toByteArray());
        assertEquals(ea.keySet(), eb.keySet());
        for (String k : ea.keySet()) {
            assertArrayEquals(ea.get(k), eb.get(k), k);
        }
        ComputationGraph back = ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(b.toByteArray()), true);
        assertEquals(net.params(), back.params());
        assertEquals(state, back.getUpdater().getStateViewArray());
    }
}
