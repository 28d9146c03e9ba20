package io.bitspark.model.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import io.bitspark.model.arch.ModelOptions;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Presets;
import io.bitspark.model.train.SgdMomentum;

/**
 * The residual sum's single shared gradient copy changes nothing: a ResNet-v2 with {@link ResidualAdd} gives bitwise
 * the outputs, score and every parameter gradient of the same network with DL4J's elementwise Add, in float and
 * double, channels-last and channels-first, over units with projection and identity shortcuts.
 */
class ResidualAddTest {

    @Test
    void sameOutputsAndGradientsAsDl4jAdd() {
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            for (CNN2DFormat layout : new CNN2DFormat[] {CNN2DFormat.NHWC, CNN2DFormat.NCHW}) {
                Nd4j.setDefaultDataTypes(type, type);
                ComputationGraphConfiguration conf = ResNetV2Builder.configuration(ResNetV2Presets.get("tiny"),
                        ModelOptions.defaults().withUpdater(new SgdMomentum(0.1, 0.9)).withInputSize(32, 32).withLayout(layout));
                long residualSums = conf.getVertices().values().stream().filter(v -> v instanceof ResidualAdd).count();
                assertEquals(8, residualSums, "tiny has 2 units in each of 4 stages");

                ComputationGraphConfiguration plain = conf.clone();
                for (Map.Entry<String, GraphVertex> e : plain.getVertices().entrySet()) {
                    if (e.getValue() instanceof ResidualAdd) {
                        e.setValue(new ElementWiseVertex(ElementWiseVertex.Op.Add));
                    }
                }
                ComputationGraph a = new ComputationGraph(conf);
                a.init();
                GradientChecks.randomizeParams(a, 11, 0.2);
                ComputationGraph b = new ComputationGraph(plain);
                b.init();
                b.setParams(a.params().dup());

                INDArray x = GradientChecks.gaussian(12, 4, 3, 32, 32).castTo(type);
                INDArray y = GradientChecks.oneHot(13, 4, ResNetV2Presets.get("tiny").numClasses()).castTo(type);
                String what = type + " " + layout;
                assertEquals(b.outputSingle(false, x), a.outputSingle(false, x), what + ": outputs");

                a.setInputs(x);
                a.setLabels(y);
                a.computeGradientAndScore();
                b.setInputs(x);
                b.setLabels(y);
                b.computeGradientAndScore();
                assertEquals(b.score(), a.score(), 0.0, what + ": score");
                Gradient ga = a.gradient();
                Gradient gb = b.gradient();
                assertEquals(gb.gradientForVariable().keySet(), ga.gradientForVariable().keySet());
                for (String k : ga.gradientForVariable().keySet()) {
                    assertEquals(gb.getGradientFor(k), ga.getGradientFor(k), what + ": gradient of " + k);
                }
                for (String k : ga.gradientForVariable().keySet()) {
                    if (k.endsWith("_W")) {
                        assertTrue(ga.getGradientFor(k).amaxNumber().doubleValue() > 0, what + ": " + k + " is not all zero");
                    }
                }
            }
        }
    }

    /** Saved configurations name the vertex and load it back. */
    @Test
    void configurationRoundTripsThroughJson() {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        ComputationGraphConfiguration conf = ResNetV2Builder.configuration(ResNetV2Presets.get("tiny"),
                ModelOptions.defaults().withInputSize(32, 32));
        ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(conf.toJson());
        assertEquals(conf, back);
        assertEquals(8, back.getVertices().values().stream().filter(v -> v instanceof ResidualAdd).count());
    }
}
