package io.bitspark.model.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.io.File;
import java.nio.file.Path;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import io.bitspark.model.layers.GradientChecks;
import io.bitspark.model.layers.GroupNormalization;
import io.bitspark.model.layers.StandardizedConv2D;
import io.bitspark.model.train.SgdMomentum;

/** A trained tiny model survives a DL4J zip round trip: parameters, momentum state, config and iteration. */
class SaveRestoreTest {

    @Test
    void trainedTinyModelRoundTrips(@TempDir Path dir) throws Exception {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        ResNetV2Spec spec = ResNetV2Presets.get("tiny");
        ComputationGraph net = ResNetV2Builder.build(spec, ModelOptions.defaults()
                .withUpdater(new SgdMomentum(0.05, 0.9)).withWeightDecay(1e-4).withInputSize(32, 32).withSeed(7));
        DataSet batch = new DataSet(GradientChecks.gaussian(1, 4, 3, 32, 32).castTo(DataType.FLOAT),
                GradientChecks.oneHot(2, 4, spec.numClasses()).castTo(DataType.FLOAT));
        INDArray before = net.params().dup();
        for (int i = 0; i < 3; i++) {
            net.fit(batch);
        }
        assertNotEquals(0.0, net.params().sub(before).norm2Number().doubleValue(), "training changed nothing");
        assertNotEquals(0.0, net.getUpdater().getStateViewArray().norm2Number().doubleValue(), "no momentum state");

        File file = dir.resolve("tiny.zip").toFile();
        ModelSerializer.writeModel(net, file, true);
        ComputationGraph restored = ModelSerializer.restoreComputationGraph(file, true);

        assertEquals(net.getConfiguration().toJson(), restored.getConfiguration().toJson());
        assertEquals(net.params(), restored.params());
        assertEquals(net.getUpdater().getStateViewArray(), restored.getUpdater().getStateViewArray());
        assertEquals(net.getIterationCount(), restored.getIterationCount());
        StandardizedConv2D conv = (StandardizedConv2D) restored.getLayer(BitLayerNames.ROOT_CONV).conf().getLayer();
        GroupNormalization gn = (GroupNormalization) restored.getLayer(BitLayerNames.FINAL_NORM).conf().getLayer();
        assertEquals(spec.wsEpsilon(), conv.getWsEpsilon());
        assertEquals(spec.groups(), gn.getGroups());
        assertEquals(spec.gnEpsilon(), gn.getEpsilon());

        INDArray x = GradientChecks.gaussian(3, 2, 3, 40, 40).castTo(DataType.FLOAT);
        assertEquals(BitOutputs.logits(net, x), BitOutputs.logits(restored, x));

        // One more step from each: identical only if momentum and weight decay were restored too.
        net.fit(batch);
        restored.fit(batch);
        assertEquals(net.params(), restored.params());
    }
}
