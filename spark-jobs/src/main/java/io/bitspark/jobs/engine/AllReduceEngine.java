package io.bitspark.jobs.engine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.bitspark.jobs.pretrain.HoldoutEvaluator;
import io.bitspark.model.checkpoint.ProjectCheckpoint;

/**
 * The default engine ({@code bit.train.engine = allreduce}): model replicas stay resident on the executors for
 * the whole run, and each round of steps is one Spark barrier stage with one task per worker. Per step every
 * worker computes the gradient of its share of the global batch, the workers sum it with a sharded
 * reduce-scatter among themselves, each applies SGD-momentum and weight decay to the slice it owns (its part of
 * the optimizer state), and an all-gather gives every worker the new parameters. No tensor passes through the
 * driver: it sends a small round description and receives losses, timings and counters. Checkpoints are written
 * by worker 0 after it gathers the momentum slices; evaluation runs on the workers, each on its share of the
 * holdout batches. A failed round (a lost executor, a timed-out exchange) is retried; the workers then restore
 * from the newest checkpoint and recompute, so the run ends where an uninterrupted one would.
 */
public final class AllReduceEngine implements TrainingEngine {

    private static final Logger LOG = LoggerFactory.getLogger(AllReduceEngine.class);
    private static final int ROUND_ATTEMPTS = 4;

    private final JavaSparkContext jsc;
    private final EngineContext ctx;
    private final Broadcast<EngineContext> broadcast;
    private final long broadcastBytes;
    private String lastCheckpoint;
    private boolean broadcastCounted;
    private List<String> placement = List.of();

    /** {@code resumeFrom}: the checkpoint directory (relative to the run) the replicas start from, or null. */
    public AllReduceEngine(JavaSparkContext jsc, EngineContext ctx, String resumeFrom) {
        this.jsc = jsc;
        this.ctx = ctx;
        this.lastCheckpoint = resumeFrom;
        this.broadcast = jsc.broadcast(ctx);
        this.broadcastBytes = serializedSize(ctx);
    }

    @Override
    public Round run(RoundRequest r) throws IOException {
        Exception failure = null;
        for (int attempt = 1; attempt <= ROUND_ATTEMPTS; attempt++) {
            RoundTask task = new RoundTask(broadcast, r, lastCheckpoint);
            long t0 = System.nanoTime();
            List<WorkerResult> results;
            try {
                jsc.setJobDescription(String.format(Locale.ROOT, "pretrain: steps %d-%d (%d workers, allreduce)", r.from() + 1,
                        r.to(), ctx.workers()));
                // Task i prefers the executor that held rank i in the last round, so replicas and their connections
                // are found where they are (Spark's executor-level locality: "executor_<host>_<id>").
                List<scala.Tuple2<Integer, scala.collection.Seq<String>>> ids = new ArrayList<>();
                for (int i = 0; i < ctx.workers(); i++) {
                    List<String> where = placement.size() == ctx.workers() ? List.of(placement.get(i)) : List.of();
                    ids.add(new scala.Tuple2<>(i, scala.collection.JavaConverters.asScalaBuffer(where).toSeq()));
                }
                RDD<WorkerResult> rdd = jsc.sc().makeRDD(scala.collection.JavaConverters.asScalaBuffer(ids).toSeq(),
                                scala.reflect.ClassTag$.MODULE$.apply(Integer.class)).barrier()
                        .mapPartitions(task, false, scala.reflect.ClassTag$.MODULE$.apply(WorkerResult.class));
                results = new ArrayList<>(JavaRDD.fromRDD(rdd, scala.reflect.ClassTag$.MODULE$.apply(WorkerResult.class)).collect());
            } catch (Exception e) { // SparkException is checked but undeclared
                failure = e;
                LOG.warn("round of steps {}-{} failed (attempt {} of {}): {}; the workers will restore from {}", r.from() + 1, r.to(),
                        attempt, ROUND_ATTEMPTS, rootMessage(e), lastCheckpoint == null ? "the seed" : lastCheckpoint);
                continue;
            }
            double wall = (System.nanoTime() - t0) / 1e9;
            return merge(r, results, wall, serializedSize(task));
        }
        throw new IOException("round of steps " + (r.from() + 1) + "-" + r.to() + " failed " + ROUND_ATTEMPTS + " times", failure);
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + ": " + t.getMessage();
    }

    private Round merge(RoundRequest r, List<WorkerResult> results, double wall, long taskBytes) {
        results.sort(Comparator.comparingInt(WorkerResult::rank));
        long from = results.get(0).from();
        for (WorkerResult w : results) {
            if (w.from() != from || w.to() != r.to()) {
                throw new IllegalStateException("workers disagree on the steps of the round: " + results);
            }
        }
        int k = (int) (r.to() - from);
        double[] losses = new double[k];
        String invalid = null;
        String checkpointError = null;
        double[] gradNorms = results.get(0).gradSquares() == null ? null : new double[k];
        double[] paramNorms = gradNorms == null ? null : new double[k];
        double data = 0, compute = 0, exchange = 0, update = 0, slowest = 0, slowestSteps = 0;
        long sent = 0, recv = 0;
        List<HoldoutEvaluator.Part> parts = new ArrayList<>();
        List<io.bitspark.jobs.pretrain.FewShotEvaluator.Part> fewshot = new ArrayList<>();
        String checkpoint = null;
        List<String> workers = new ArrayList<>();
        String note = null;
        long rss = 0;
        for (WorkerResult w : results) {
            rss = Math.max(rss, w.rss());
            for (int i = 0; i < k; i++) {
                losses[i] += w.losses()[i] / results.size();
                if (gradNorms != null) {
                    gradNorms[i] += w.gradSquares()[i];
                    paramNorms[i] += w.paramSquares()[i];
                }
            }
            data += w.data();
            compute += w.compute();
            exchange += w.exchange();
            update += w.update();
            slowest = Math.max(slowest, w.wall());
            sent += w.bytesSent();
            recv += w.bytesReceived();
            if (w.eval() != null) {
                parts.add(w.eval());
            }
            if (w.fewshot() != null) {
                fewshot.addAll(w.fewshot());
            }
            if (w.checkpoint() != null) {
                checkpoint = w.checkpoint();
            }
            if (w.invalid() != null && (invalid == null || invalid.equals("see another rank"))) {
                invalid = w.invalid();
            }
            if (w.checkpointError() != null && (checkpointError == null || checkpointError.equals("written by rank 0"))) {
                checkpointError = w.checkpointError();
            }
            if (w.note() != null && note == null) {
                note = w.note();
            }
            workers.add(String.format(Locale.ROOT, "rank %d: executor %s on %s, %s, heap %d MB, rss %d MB (peak %d MB), setup %.3f s, "
                            + "steps %.3f s, task %.3f s", w.rank(), w.executor(), w.host(), w.device(), w.heapUsed() >> 20, w.rss() >> 20,
                    w.peakRss() >> 20, w.setup(), w.data() + w.compute() + w.exchange() + w.update(), w.wall()));
            slowestSteps = Math.max(slowestSteps, w.data() + w.compute() + w.exchange() + w.update());
        }
        if (checkpoint != null) {
            lastCheckpoint = r.checkpoint().dir();
        }
        List<String> where = new ArrayList<>();
        for (WorkerResult w : results) {
            where.add("executor_" + w.host() + "_" + w.executor());
        }
        placement = where;
        int n = results.size();
        int per = Math.max(1, k);
        for (int i = 0; gradNorms != null && i < k; i++) {
            gradNorms[i] = Math.sqrt(gradNorms[i]);
            paramNorms[i] = Math.sqrt(paramNorms[i]);
        }
        long resultBytes = serializedSize(new ArrayList<>(results));
        // Driver traffic: the task description to every worker, its result back, the rank handshake through the
        // barrier (a few dozen bytes per worker, relayed to all), and the run's broadcast once.
        double driverSent = (double) taskBytes * n + 64.0 * n * n + (broadcastCounted ? 0 : broadcastBytes * n);
        broadcastCounted = true;
        double driverRecv = resultBytes + 64.0 * n;
        Map<String, Double> eval = new java.util.LinkedHashMap<>(parts.isEmpty() ? Map.of() : ctx.evaluator().metrics(parts));
        if (r.fewshot() && invalid == null) {
            eval.putAll(ctx.fewshot().metrics(fewshot));
        }
        return new Round(from, r.to(), losses, eval, checkpoint,
                new Timings(data / n / per, compute / n / per, exchange / n / per, update / n / per, Math.max(0, wall - slowestSteps) / per),
                new Traffic((double) sent / n / per, (double) recv / n / per, driverSent / per, driverRecv / per), workers, note, rss,
                invalid, checkpointError, gradNorms, paramNorms);
    }

    static long serializedSize(Object o) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(b)) {
            out.writeObject(o);
        } catch (IOException e) {
            return -1;
        }
        return b.size();
    }

    /** The network of the newest checkpoint (the engine's state lives on the executors). */
    @Override
    public ComputationGraph network() throws IOException {
        if (lastCheckpoint == null) {
            throw new IllegalStateException("no checkpoint has been written yet");
        }
        return ProjectCheckpoint.read(ctx.runStore(), lastCheckpoint, true).net();
    }

    @Override
    public Kind kind() {
        return Kind.ALLREDUCE;
    }

    @Override
    public void close() {
        broadcast.destroy();
    }
}
