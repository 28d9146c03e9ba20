package io.bitspark.jobs.engine;

import java.io.IOException;
import java.io.Serializable;
import java.util.List;
import java.util.Map;

import org.deeplearning4j.nn.graph.ComputationGraph;

/**
 * Where the global steps of a pre-training run execute. The training loop asks for rounds: run global steps
 * {@code [from, from + steps)}, then optionally evaluate on the holdout split and write a checkpoint; the engine
 * returns the loss of every step and where the time and the bytes went. Implementations: {@link SingleProcessEngine}
 * (the reference), {@link ParamAvgEngine} (dl4j-spark's parameter averaging through the driver, kept as a
 * baseline) and {@link AllReduceEngine} (resident replicas on the executors, sharded all-reduce among them).
 */
public interface TrainingEngine extends AutoCloseable {

    /** The engines, written as {@code bit.train.engine} and the run's records name them. */
    enum Kind {
        SINGLE_PROCESS("single-process"), ALLREDUCE("allreduce"), DL4J_PARAMAVG("dl4j-paramavg");

        /** Those {@code bit.train.engine} may name (one process is {@code --single-process}). */
        public static final List<Kind> SETTABLE = List.of(ALLREDUCE, DL4J_PARAMAVG);

        private final String text;

        Kind(String text) {
            this.text = text;
        }

        @Override
        public String toString() {
            return text;
        }
    }

    /** A checkpoint to write after the round: directory (relative to the run) and its provenance as JSON. */
    record CheckpointRequest(String dir, String provenanceJson) implements Serializable {}

    /**
     * What a round should do. {@code last}: the run ends after it (engines may release their state once the round's
     * checkpoint is written). {@code fewshot}: run the few-shot evaluator too. {@code steps} may be 0: only the
     * evaluations or the checkpoint.
     */
    record RoundRequest(long from, int steps, boolean evaluate, boolean fewshot, CheckpointRequest checkpoint, boolean last)
            implements Serializable {
        public long to() {
            return from + steps;
        }
    }

    /**
     * Seconds per step, averaged over workers: reading and decoding data (not hidden by prefetch), forward and
     * backward, exchange (collectives, including waiting for the slowest worker), optimizer update; scheduling is
     * the round's wall time on the driver minus the slowest worker's time in its steps, per step (task launch,
     * rank agreement and connections, evaluation and checkpoints of the round).
     */
    record Timings(double data, double compute, double exchange, double update, double scheduling) implements Serializable {
        public static final Timings NONE = new Timings(0, 0, 0, 0, 0);
    }

    /** Bytes per step: sent and received by each executor (mean over executors) and by the driver. */
    record Traffic(double executorSent, double executorReceived, double driverSent, double driverReceived) implements Serializable {
        public static final Traffic NONE = new Traffic(0, 0, 0, 0);
    }

    /**
     * A finished round. {@code from} is where it really started: earlier than asked when the engine had to
     * recompute from a checkpoint after losing state. {@code losses[i]} is the loss of step {@code from + i}.
     * {@code invalid}: the first parameter found NaN or infinite after the steps (then no evaluation ran and no
     * checkpoint was written), else null. {@code checkpointError}: why the requested checkpoint could not be written
     * (the state is intact; a round of 0 steps with the same request retries it), else null. {@code gradNorms} and
     * {@code paramNorms}: per step, the global L2 norm of the loss gradient averaged over the global batch (before
     * weight decay and clipping) and of the parameters after the update; null where the engine does not measure them.
     */
    record Round(long from, long to, double[] losses, Map<String, Double> eval, String checkpoint, Timings timings,
                 Traffic traffic, List<String> workers, String note, long maxExecutorRss, String invalid,
                 String checkpointError, double[] gradNorms, double[] paramNorms) {}

    Round run(RoundRequest request) throws IOException;

    /** The current state as a network on the driver (loads it when it lives elsewhere). */
    ComputationGraph network() throws IOException;

    Kind kind();

    @Override
    void close();
}
