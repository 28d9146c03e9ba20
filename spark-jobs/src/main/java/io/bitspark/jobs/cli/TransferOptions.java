package io.bitspark.jobs.cli;

import io.bitspark.jobs.transfer.FineTuneSettings;
import picocli.CommandLine.Option;

/** Overrides of the BiT-HyperRule shared by finetune and fewshot; unset options keep the rule's values. */
public final class TransferOptions {

    @Option(names = "--steps", description = "Training steps (the rule: 500 / 10k / 20k by data set size).")
    Long steps;

    @Option(names = "--lr", description = "Base learning rate (the rule: 0.003).")
    Double lr;

    @Option(names = "--batch", description = "Images per step (the rule: 512).")
    Integer batch;

    @Option(names = "--micro-batch", description = "Images per forward/backward pass; gradients are accumulated (default: the batch).")
    Integer microBatch;

    @Option(names = "--resize", description = "Resize before the random crop (the rule: 160 for images under 96x96, else 512).")
    Integer resize;

    @Option(names = "--crop", description = "Training crop and evaluation size (the rule: 128, else 480).")
    Integer crop;

    @Option(names = "--mixup", description = "MixUp alpha (the rule: 0.1 from 20k examples, else 0).")
    Double mixup;

    @Option(names = "--seed", defaultValue = "0", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    FineTuneSettings settings(long size, int w, int h) {
        return FineTuneSettings.hyperRule(size, w, h, seed).with(steps, lr, batch, microBatch, resize, crop, mixup);
    }
}
