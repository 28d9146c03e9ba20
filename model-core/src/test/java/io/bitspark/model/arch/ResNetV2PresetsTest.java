package io.bitspark.model.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ResNetV2PresetsTest {

    /** Counts of the official BiT checkpoints (numpy sums over the released .npz arrays), 1000-class head. */
    @ParameterizedTest(name = "{0} has {2} parameters with {1} classes")
    @CsvSource({
            "r50x1,   1000,  25549352",
            "r101x1,  1000,  44541480",
            "r50x3,   1000, 217319080",
            "r101x3,  1000, 387934888",
            "r152x2,  1000, 236335208",
            "r152x4,  1000, 936533224",
            "r50x1,  21843,  68256659",
    })
    void parameterCountsMatchTheRelease(String preset, int classes, long expected) {
        ResNetV2Spec spec = ResNetV2Presets.get(preset).withClasses(classes);
        assertEquals(expected, ResNetV2Builder.parameterCount(spec));
    }

    @Test
    void configurationCountMatchesAnAllocatedNetwork() {
        ResNetV2Spec spec = ResNetV2Presets.get("tiny");
        long fromConfig = ResNetV2Builder.parameterCount(spec);
        long allocated = ResNetV2Builder.build(spec, ModelOptions.defaults().withInputSize(32, 32)).numParams();
        assertEquals(allocated, fromConfig);
    }

    @Test
    void initialisationIsReproducibleForEverySeedIncludingZero() {
        for (long seed : new long[] {0, 1, 42}) {
            ModelOptions o = ModelOptions.defaults().withSeed(seed).withInputSize(16, 16);
            assertEquals(ResNetV2Builder.build(ResNetV2Presets.get("micro"), o).params(),
                    ResNetV2Builder.build(ResNetV2Presets.get("micro"), o).params(), "seed " + seed);
        }
        ModelOptions a = ModelOptions.defaults().withSeed(1).withInputSize(16, 16);
        ModelOptions b = ModelOptions.defaults().withSeed(2).withInputSize(16, 16);
        org.junit.jupiter.api.Assertions.assertNotEquals(ResNetV2Builder.build(ResNetV2Presets.get("micro"), a).params(),
                ResNetV2Builder.build(ResNetV2Presets.get("micro"), b).params());
    }

    @Test
    void releaseNamesAndCaseAreAccepted() {
        assertEquals("r152x4", ResNetV2Presets.get("BiT-M-R152x4").name());
        assertEquals("r50x1", ResNetV2Presets.get("R50X1").name());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ResNetV2Presets.get("r18"));
        assertTrue(e.getMessage().contains("r18") && e.getMessage().contains("r50x1"), e.getMessage());
    }

    @Test
    void widthsFollowTheRelease() {
        ResNetV2Spec r50x3 = ResNetV2Presets.get("r50x3");
        assertEquals(192, r50x3.midChannels(0));
        assertEquals(4 * 192 * 8, r50x3.outChannels(3));
        assertEquals(50, ResNetV2Presets.get("r50x1").depth());
        assertEquals(101, ResNetV2Presets.get("r101x1").depth());
        assertEquals(152, ResNetV2Presets.get("r152x2").depth());
    }

    @Test
    void invalidSpecsAreRejectedWithTheField() {
        ResNetV2Spec tiny = ResNetV2Presets.get("tiny");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ResNetV2Spec("bad", tiny.unitsPerStage(), 8, 3, 1e-5, 1e-10, 10, tiny.stem()));
        assertTrue(e.getMessage().contains("groups"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> tiny.withClasses(0));
    }

    /** Every spec runs channels-last by default (one input transpose); channels-first when asked. */
    @ParameterizedTest
    @CsvSource({"r50x1, NHWC", "r152x4, NHWC", "tiny, NHWC", "micro, NHWC"})
    void layoutIsChosenPerSpecUnlessSet(String preset, org.deeplearning4j.nn.conf.CNN2DFormat expected) {
        ResNetV2Spec spec = ResNetV2Presets.get(preset);
        assertEquals(expected, ModelOptions.defaults().resolvedLayout(spec));
        var conf = ResNetV2Builder.configuration(spec, ModelOptions.defaults());
        assertEquals(expected == org.deeplearning4j.nn.conf.CNN2DFormat.NHWC,
                conf.getVertices().containsKey(BitLayerNames.CHANNELS_LAST));
        var gn = (io.bitspark.model.layers.GroupNormalization)
                ((org.deeplearning4j.nn.conf.graph.LayerVertex) conf.getVertices().get(BitLayerNames.FINAL_NORM)).getLayerConf().getLayer();
        assertEquals(expected, gn.getDataFormat());
        var other = expected == org.deeplearning4j.nn.conf.CNN2DFormat.NHWC
                ? org.deeplearning4j.nn.conf.CNN2DFormat.NCHW : org.deeplearning4j.nn.conf.CNN2DFormat.NHWC;
        assertEquals(other, ModelOptions.defaults().withLayout(other).resolvedLayout(spec));
        // Same parameters either way: checkpoints move between layouts.
        java.util.Map<String, Long> counts = new java.util.HashMap<>(ResNetV2Builder.parameterCounts(conf));
        java.util.Map<String, Long> otherCounts = new java.util.HashMap<>(ResNetV2Builder.parameterCounts(
                ResNetV2Builder.configuration(spec, ModelOptions.defaults().withLayout(other))));
        counts.remove(BitLayerNames.CHANNELS_LAST);
        otherCounts.remove(BitLayerNames.CHANNELS_LAST);
        assertEquals(counts, otherCounts);
    }
}
