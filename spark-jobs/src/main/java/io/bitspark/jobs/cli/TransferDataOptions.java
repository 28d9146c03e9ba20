package io.bitspark.jobs.cli;

import java.io.IOException;

import io.bitspark.jobs.io.Stores;
import io.bitspark.jobs.transfer.InMemoryDataset;
import picocli.CommandLine.Option;

/** The downstream data of finetune and fewshot: a training set and an evaluation set. */
public final class TransferDataOptions {

    @Option(names = "--data", required = true, paramLabel = "URI", description = "Prepared data set; its train split is used.")
    String data;

    @Option(names = "--eval-data", paramLabel = "URI", description = "Prepared data set to evaluate on, train split (default: --data's holdout split).")
    String evalData;

    @Option(names = "--eval-max", defaultValue = "0", description = "Evaluate on at most this many images; 0 for all (default: ${DEFAULT-VALUE}).")
    int evalMax;

    InMemoryDataset train() throws IOException {
        return InMemoryDataset.load(data, "train", Stores.hadoopConfiguration());
    }

    /** The evaluation set; one from --eval-data must have the training set's classes, in the same order. */
    InMemoryDataset eval(InMemoryDataset train) throws IOException {
        if (evalData == null) {
            return InMemoryDataset.load(data, "holdout", Stores.hadoopConfiguration()).firstN(evalMax);
        }
        InMemoryDataset e = InMemoryDataset.load(evalData, "train", Stores.hadoopConfiguration()).firstN(evalMax);
        e.requireClasses(train.classNames(), data + " (--data)", evalData + " (--eval-data)");
        return e;
    }
}
