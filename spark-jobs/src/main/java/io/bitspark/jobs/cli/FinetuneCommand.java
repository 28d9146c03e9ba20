package io.bitspark.jobs.cli;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import org.deeplearning4j.nn.graph.ComputationGraph;

import io.bitspark.jobs.io.ModelLoader;
import io.bitspark.jobs.io.Stores;
import io.bitspark.jobs.transfer.FineTuneSettings;
import io.bitspark.jobs.transfer.FineTuner;
import io.bitspark.jobs.transfer.InMemoryDataset;
import io.bitspark.model.arch.LossKind;
import io.bitspark.model.checkpoint.ProjectCheckpoint;
import io.bitspark.model.checkpoint.Provenance;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bit finetune}: transfer a checkpoint to a prepared data set with the BiT-HyperRule (one process). */
@Command(name = "finetune", mixinStandardHelpOptions = true,
        description = "Fine-tune a checkpoint (ours or an official BiT .npz) on a prepared data set with the BiT-HyperRule: "
                + "new zero head, SGD momentum, lr 0.003 with warmup and /10 steps, batch 512 (micro-batched), MixUp "
                + "from 20k examples, no weight decay. Runs in this process.")
public final class FinetuneCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    CheckpointOptions source;

    @Mixin
    TransferDataOptions data;

    @Option(names = "--output", required = true, paramLabel = "URI", description = "Where the fine-tuned checkpoint goes.")
    String output;

    @Mixin
    TransferOptions transfer;

    @Override
    public Integer call() throws Exception {
        ModelLoader.Loaded m = ModelLoader.load(source.checkpoint, source.importOptions(), false);
        InMemoryDataset train = data.train();
        InMemoryDataset eval = data.eval(train);
        FineTuneSettings s = transfer.settings(train.size(), train.medianWidth(), train.medianHeight());
        LossKind loss = train.multiLabel() ? LossKind.SIGMOID_CROSS_ENTROPY : LossKind.SOFTMAX_CROSS_ENTROPY;
        ComputationGraph net = FineTuner.transferNet(m.net(), m.spec(), train.classes(), s, loss);
        FineTuner.Result r = FineTuner.fineTune(net, train, eval, s, loss);
        Map<String, Object> config = new LinkedHashMap<>(s.asMap());
        config.put("source", m.source());
        config.put(io.bitspark.model.train.Metrics.named(io.bitspark.model.train.Metrics.EVAL, io.bitspark.model.train.Metrics.TOP1), r.top1());
        config.put(io.bitspark.model.train.Metrics.named(io.bitspark.model.train.Metrics.EVAL, io.bitspark.model.train.Metrics.TOP5), r.top5());
        Provenance p = Provenance.of(Provenance.Kind.FINETUNE, m.spec().withClasses(train.classes())).config(config)
                .seed(s.seed()).position(r.steps(), 0).data(train.manifestHash(), train.classNames()).parent(m.source()).build();
        Stores.Location out = Stores.locate(output);
        ProjectCheckpoint.write(out.store(), out.name(), net, p, true);
        PrintWriter w = spec.commandLine().getOut();
        w.printf(Locale.ROOT, "fine-tuned %s on %d images (%d classes) for %d steps: eval top-1 %.4f, top-5 %.4f on %d images; checkpoint %s%n",
                m.source(), train.size(), train.classes(), r.steps(), r.top1(), r.top5(), eval.size(), out.uri());
        w.flush();
        return 0;
    }
}
