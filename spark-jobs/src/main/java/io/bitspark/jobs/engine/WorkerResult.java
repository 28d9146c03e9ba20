package io.bitspark.jobs.engine;

import java.io.Serializable;

import io.bitspark.jobs.pretrain.HoldoutEvaluator;

/**
 * What one worker reports after a round (a few hundred bytes, plus holdout scores for multi-label data): its
 * rank and where it ran, the steps it ran and their losses, its time split (setup: from the task's start to its first
 * step: rank agreement, connections, restoring state), the bytes it moved, its memory; the first non-finite
 * parameter found before evaluating or checkpointing (then neither happened), and why the checkpoint could not be
 * written; per step, the sums of squares of its slice of the averaged gradient and of the parameters (null with
 * local SGD).
 */
record WorkerResult(int rank, int partition, String executor, String host, String device, long from, long to,
                    double[] losses, double setup, double data, double compute, double exchange, double update, double wall,
                    long bytesSent, long bytesReceived, HoldoutEvaluator.Part eval,
                    java.util.List<io.bitspark.jobs.pretrain.FewShotEvaluator.Part> fewshot, String checkpoint, String note,
                    long heapUsed, long rss, long peakRss, String invalid, String checkpointError, double[] gradSquares,
                    double[] paramSquares) implements Serializable {}
