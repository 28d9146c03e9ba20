package io.bitspark.model.arch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.bitspark.model.checkpoint.BitCheckpointLayout;
import io.bitspark.model.io.Npz;

/**
 * The tiny spec with fixed weights reproduces logits of an independent PyTorch implementation
 * ({@code golden/make_golden.py}, float64) to 1e-4. The weights come in the official BiT layout, so this
 * also pins the checkpoint name and HWIO mapping.
 */
class GoldenLogitsTest {

    private static final Logger LOG = LoggerFactory.getLogger(GoldenLogitsTest.class);
    static final double TOLERANCE = 1e-4;

    static Path golden(String name) throws URISyntaxException {
        return Path.of(GoldenLogitsTest.class.getResource("/golden/" + name).toURI());
    }

    @ParameterizedTest
    @EnumSource(value = CNN2DFormat.class)
    void tinySpecMatchesTheReference(CNN2DFormat layout) throws Exception {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        try (Npz npz = Npz.open(golden("tiny_golden.npz"))) {
            INDArray x = npz.read("input");
            ResNetV2Spec spec = ResNetV2Presets.get("tiny");
            ComputationGraph net = ResNetV2Builder.build(spec,
                    ModelOptions.defaults().withInputSize((int) x.size(2), (int) x.size(3)).withLayout(layout));

            Set<String> weightKeys = new TreeSet<>(npz.keys());
            weightKeys.removeAll(Set.of("input", "logits", "pre_logits"));
            BitCheckpointLayout.KeyDiff diff = BitCheckpointLayout.diff(net, weightKeys);
            assertTrue(diff.isEmpty(), () -> "key mismatch: " + diff);
            for (Map.Entry<String, BitCheckpointLayout.Entry> e : BitCheckpointLayout.entries(net).entrySet()) {
                BitCheckpointLayout.assign(e.getValue(), npz.read(e.getKey()));
            }

            INDArray expectedPre = npz.read("pre_logits");
            INDArray expected = npz.read("logits");
            INDArray pre = BitOutputs.preLogits(net, x);
            INDArray logits = BitOutputs.logits(net, x);
            assertArrayEquals(expected.shape(), logits.shape());
            LOG.info("golden tiny ({}): max |logit diff| {} (max |logit| {}), max |pre-logit diff| {}",
                    layout, maxAbsDiff(expected, logits), expected.amaxNumber(), maxAbsDiff(expectedPre, pre));
            assertEquals(0.0, maxAbsDiff(expectedPre, pre), TOLERANCE, "pre-logits");
            assertEquals(0.0, maxAbsDiff(expected, logits), TOLERANCE, "logits");
            // The softmax head output agrees with the logits.
            INDArray probs = net.outputSingle(x);
            INDArray ref = Nd4j.nn().softmax(expected, 1);
            assertEquals(0.0, maxAbsDiff(ref, probs), TOLERANCE, "softmax");
        }
    }

    static double maxAbsDiff(INDArray a, INDArray b) {
        return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }
}
