package io.bitspark.jobs.transfer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.bitspark.data.shards.BatchDecoder;
import io.bitspark.data.shards.ShardReader;
import io.bitspark.jobs.pretrain.ShardBatchLoader;
import io.bitspark.model.arch.BitOutputs;
import io.bitspark.model.layers.FrozenKernels;
import io.bitspark.model.arch.LossKind;
import io.bitspark.model.arch.ModelOptions;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Spec;
import io.bitspark.model.checkpoint.BitCheckpointLayout;
import io.bitspark.data.image.Augment;
import io.bitspark.model.train.HyperRule;
import io.bitspark.model.train.Metrics;
import io.bitspark.model.train.MicroBatchStep;
import io.bitspark.model.train.SgdStep;
import io.bitspark.model.train.MixUp;
import io.bitspark.model.train.RidgeProbe;
import io.bitspark.model.train.SgdMomentum;

/**
 * BiT transfer in one process: a new zero-initialised head on the pre-trained body, SGD momentum with the
 * HyperRule schedule and no weight decay, batches of {@code batch} drawn from shuffled passes over the data
 * (small sets repeat), split into micro-batches when they do not fit, MixUp when the rule asks for it; and
 * the linear probe on frozen pre-logits. Everything is seeded.
 */
public final class FineTuner {

    private static final Logger LOG = LoggerFactory.getLogger(FineTuner.class);

    private FineTuner() {}

    /** Top-1 and top-5 on the evaluation set, and the last training loss. */
    public record Result(double top1, double top5, double loss, long steps) {}

    /**
     * A network for transfer: the body's parameters copied by checkpoint name from {@code source}, a zero head
     * of {@code classes} outputs, the HyperRule optimizer. {@code source == null} gives a randomly initialised
     * body (the baseline the paper compares against).
     */
    public static ComputationGraph transferNet(ComputationGraph source, ResNetV2Spec body, int classes,
                                               FineTuneSettings s, LossKind loss) {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        ComputationGraph net = ResNetV2Builder.build(body.withClasses(classes), ModelOptions.defaults()
                .withLoss(loss)
                .withSeed(s.seed())
                .withUpdater(new SgdMomentum(new HyperRule.Schedule(s.supports(), s.baseLr()), HyperRule.MOMENTUM))
                .withWeightDecay(0.0)
                .withInputSize(s.crop(), s.crop()));
        if (source != null) {
            Map<String, BitCheckpointLayout.Entry> from = BitCheckpointLayout.entries(source);
            for (Map.Entry<String, BitCheckpointLayout.Entry> e : BitCheckpointLayout.entries(net).entrySet()) {
                if (e.getKey().startsWith(BitCheckpointLayout.PREFIX + "head/")) {
                    continue;
                }
                BitCheckpointLayout.Entry src = from.get(e.getKey());
                if (src == null || !java.util.Arrays.equals(src.value().shape(), e.getValue().value().shape())) {
                    throw new IllegalArgumentException("checkpoint does not fit the architecture at " + e.getKey());
                }
                e.getValue().value().assign(src.value());
            }
        }
        net.getLayer("head/conv2d").getParam("W").assign(0);
        net.getLayer("head/conv2d").getParam("b").assign(0);
        return net;
    }

    public static Result fineTune(ComputationGraph net, InMemoryDataset train, InMemoryDataset eval, FineTuneSettings s,
                                  LossKind loss) throws IOException {
        int n = train.size();
        Random order = new Random(s.seed() * 31 + 7);
        List<Integer> stream = new ArrayList<>();
        double lossValue = Double.NaN;
        SgdStep fused = SgdStep.orNull(net);
        for (long step = 0; step < s.steps(); step++) {
            while (stream.size() < s.batch()) {
                List<Integer> perm = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    perm.add(i);
                }
                Collections.shuffle(perm, order);
                stream.addAll(perm);
            }
            List<Integer> batch = new ArrayList<>(stream.subList(0, s.batch()));
            stream.subList(0, s.batch()).clear();
            Random rng = new Random(s.seed() * 0x9E3779B97F4A7C15L + step);
            double lambda = s.mixupAlpha() > 0 ? MixUp.lambda(s.mixupAlpha(), rng) : 1.0;
            List<DataSet> parts = new ArrayList<>();
            for (int from = 0; from < batch.size(); from += s.microBatch()) {
                DataSet mb = trainBatch(train, batch.subList(from, Math.min(batch.size(), from + s.microBatch())), s, rng);
                parts.add(lambda < 1.0 ? MixUp.mix(mb, lambda, rng) : mb);
            }
            lossValue = MicroBatchStep.step(net, fused, parts, (int) step, 0);
            if (!Double.isFinite(lossValue)) {
                throw new IllegalStateException("fine-tuning loss is " + lossValue + " at step " + step);
            }
            if ((step + 1) % 50 == 0 || step + 1 == s.steps()) {
                LOG.info("fine-tune step {}/{}: loss {}, lr {}", step + 1, s.steps(), String.format("%.4f", lossValue),
                        String.format("%.6f", HyperRule.lr(step, s.supports(), s.baseLr())));
            }
        }
        float[][] scores = scores(net, eval, s.crop(), false);
        int[] y = firstLabels(eval);
        return new Result(Metrics.topK(scores, y, 1), Metrics.topK(scores, y, Math.min(5, scores[0].length)), lossValue, s.steps());
    }

    /** Accuracy of a ridge-regression probe on the frozen pre-logits of {@code net}. */
    public static double linearProbe(ComputationGraph net, InMemoryDataset train, InMemoryDataset eval, int resolution) throws IOException {
        float[][] ftrain = scores(net, train, resolution, true);
        float[][] feval = scores(net, eval, resolution, true);
        RidgeProbe p = RidgeProbe.fit(ftrain, firstLabels(train), train.classes(), 1.0);
        return p.accuracy(feval, firstLabels(eval));
    }

    private static DataSet trainBatch(InMemoryDataset d, List<Integer> idx, FineTuneSettings s, Random rng) throws IOException {
        List<ShardReader.Example> rows = new ArrayList<>(idx.size());
        for (int i : idx) {
            rows.add(d.rows().get(i));
        }
        BatchDecoder.Batch b = BatchDecoder.decode(rows, s.crop(), d.classes(),
                (e, out, offset) -> Augment.hyperRuleTrain(e.jpeg(), s.resize(), s.crop(), s.flip(), rng, out, offset),
                j -> "training example " + idx.get(j));
        return ShardBatchLoader.dataSet(b, d.classes());
    }

    /** Logits (or pre-logits) of every example of {@code d}, evaluation view at {@code resolution}. */
    static float[][] scores(ComputationGraph net, InMemoryDataset d, int resolution, boolean preLogits) throws IOException {
        Augment.Config c = Augment.Config.bit(resolution);
        float[][] out = new float[d.size()][];
        int batch = 64;
        try (FrozenKernels frozen = FrozenKernels.of(net)) {
            for (int from = 0; from < d.size(); from += batch) {
                int first = from;
                BatchDecoder.Batch b = BatchDecoder.decode(d.rows().subList(from, Math.min(d.size(), from + batch)), resolution,
                        d.classes(), (e, x, offset) -> Augment.eval(e.jpeg(), c, x, offset), j -> "example " + (first + j));
                INDArray in = ShardBatchLoader.features(b);
                INDArray o = preLogits ? BitOutputs.preLogits(net, in) : BitOutputs.logits(net, in);
                for (int i = 0; i < b.size(); i++) {
                    out[from + i] = o.getRow(i).toFloatVector();
                }
            }
        }
        return out;
    }

    static int[] firstLabels(InMemoryDataset d) {
        int[] y = new int[d.size()];
        for (int i = 0; i < y.length; i++) {
            int[] l = d.rows().get(i).labels();
            y[i] = l.length == 0 ? -1 : l[0];
        }
        return y;
    }

    static Map<String, Object> record(String name, Object value) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(name, value);
        return m;
    }
}
