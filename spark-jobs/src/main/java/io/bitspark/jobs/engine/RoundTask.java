package io.bitspark.jobs.engine;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkEnv;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.resource.ResourceInformation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.bitspark.jobs.pretrain.HoldoutEvaluator;
import io.bitspark.model.checkpoint.ProjectCheckpoint;
import io.bitspark.model.checkpoint.Provenance;
import io.bitspark.model.checkpoint.StreamedModelZip;
import io.bitspark.model.train.ParameterLayout;
import io.bitspark.model.train.ShardedSgd;

/**
 * One worker's part of a round, run as a task of a barrier stage (all workers start together). The workers
 * agree on ranks (an executor that holds the replica of rank r at the round's first step takes rank r again),
 * connect a {@link Mesh}, and run the steps on their resident {@link Replica}: gradient of the worker's share
 * (summed over micro-batches), reduce-scatter, SGD-momentum on the owned slice, all-gather of the parameters.
 * When any rank's state is missing or stale (an executor was lost, or a previous attempt died mid-round) every
 * rank restores from the newest checkpoint (or the seed) and the round recomputes from there, so no
 * contribution is ever counted twice or skipped.
 */
final class RoundTask extends scala.runtime.AbstractFunction1<scala.collection.Iterator<Integer>, scala.collection.Iterator<WorkerResult>>
        implements Serializable {

    private static final Logger LOG = LoggerFactory.getLogger(RoundTask.class);
    /** How long the workers of a round wait for each other on their kept connections before a full rendezvous. */
    static final long HANDSHAKE_MILLIS = 10_000;

    private final Broadcast<EngineContext> context;
    private final TrainingEngine.RoundRequest request;
    private final String restoreDir;

    RoundTask(Broadcast<EngineContext> context, TrainingEngine.RoundRequest request, String restoreDir) {
        this.context = context;
        this.request = request;
        this.restoreDir = restoreDir;
    }

    @Override
    public scala.collection.Iterator<WorkerResult> apply(scala.collection.Iterator<Integer> ignored) {
        try {
            return scala.collection.Iterator$.MODULE$.single(run());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private WorkerResult run() throws IOException {
        long wall0 = System.nanoTime();
        BarrierTaskContext task = BarrierTaskContext.get();
        EngineContext ctx = context.value();
        int n = ctx.workers();
        int partition = task.partitionId();
        String executor = SparkEnv.get().executorId();
        String host = SparkEnv.get().blockManager().blockManagerId().host();
        if (io.bitspark.model.runtime.DeviceCheck.cudaBuild()) {
            io.bitspark.model.runtime.DeviceCheck.Report check = io.bitspark.model.runtime.DeviceCheck.inspect();
            if (check.problem() != null) {
                throw new io.bitspark.model.runtime.DeviceCheck.UnusableDeviceException("executor " + executor + " on " + host
                        + ": no usable GPU: " + check.problem());
            }
        }
        String device = bindDevice(task);
        Replica.RESIDENT.keySet().removeIf(k -> !k.startsWith(ctx.runId() + "#"));
        long token = (ctx.runId().hashCode() * 0x9E3779B97F4A7C15L) ^ ((long) task.stageId() << 20) ^ task.stageAttemptNumber()
                ^ (request.from() << 40);

        // Fast path: this JVM holds a replica at the round's first step with its connections from the previous
        // round, and every peer confirms the same round over them: no rendezvous through the driver.
        for (int r = 0; r < n; r++) {
            Replica rep = Replica.RESIDENT.get(Replica.key(ctx.runId(), r));
            if (rep != null && rep.step == request.from() && rep.workers == n && rep.mesh != null && rep.busy.compareAndSet(false, true)) {
                if (rep.mesh.isOpen() && rep.mesh.handshake(token, Math.min(HANDSHAKE_MILLIS, ctx.exchangeTimeoutMillis()))) {
                    shareCores(rep.workersHere);
                    return train(task, ctx, rep.mesh, rep.rank, partition, executor, host, device, true, wall0, rep.workersHere);
                }
                rep.dropMesh();
                rep.busy.set(false);
                break;
            }
        }

        List<Integer> resident = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            Replica rep = Replica.RESIDENT.get(Replica.key(ctx.runId(), r));
            if (rep != null && rep.step == request.from() && rep.workers == n && !rep.busy.get()) {
                resident.add(r);
            }
        }
        try (ServerSocketChannel server = Mesh.listen(host)) {
            int port = ((java.net.InetSocketAddress) server.getLocalAddress()).getPort();
            String[] all = task.allGather(partition + "|" + executor + "|" + host + ":" + port + "|" + join(resident));
            int[] rankOf = new int[n];
            boolean consistent = assignRanks(all, rankOf);
            int rank = rankOf[partition];
            String[] addresses = new String[n];
            for (String s : all) {
                String[] f = s.split("\\|", -1);
                addresses[rankOf[Integer.parseInt(f[0])]] = f[2];
            }
            int here = 0;
            for (String e : all) {
                here += e.split("\\|", -1)[1].equals(executor) ? 1 : 0;
            }
            shareCores(here);
            Mesh mesh = Mesh.connect(rank, addresses, server, token, ctx.exchangeTimeoutMillis());
            return train(task, ctx, mesh, rank, partition, executor, host, device, consistent, wall0, here);
        }
    }

    /**
     * Workers that share one executor JVM (Spark local mode, or several task slots per executor) split its cores:
     * OpenMP teams started from this task's thread get {@code cores / workers here} threads, so native kernels
     * do not run cores x workers threads (libgomp keeps the setting per calling thread).
     */
    static void shareCores(int workersHere) {
        if (workersHere <= 1) {
            return;
        }
        String omp = System.getenv("OMP_NUM_THREADS");
        int cores = omp != null && omp.trim().matches("\\d+") ? Integer.parseInt(omp.trim()) : Runtime.getRuntime().availableProcessors();
        org.nd4j.nativeblas.NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(Math.max(1, cores / workersHere));
    }

    /** Deterministic on every task: resident ranks first (in partition order), the rest in ascending order. */
    static boolean assignRanks(String[] all, int[] rankOf) {
        int n = rankOf.length;
        Arrays.fill(rankOf, -1);
        boolean[] taken = new boolean[n];
        String[] byPartition = new String[n];
        for (String s : all) {
            byPartition[Integer.parseInt(s.split("\\|", -1)[0])] = s;
        }
        boolean consistent = true;
        for (int p = 0; p < n; p++) {
            String res = byPartition[p].split("\\|", -1)[3];
            if (!res.isEmpty()) {
                for (String r : res.split(",")) {
                    int rank = Integer.parseInt(r);
                    if (!taken[rank]) {
                        taken[rank] = true;
                        rankOf[p] = rank;
                        break;
                    }
                }
            }
            consistent &= rankOf[p] >= 0;
        }
        int next = 0;
        for (int p = 0; p < n; p++) {
            if (rankOf[p] < 0) {
                while (taken[next]) {
                    next++;
                }
                taken[next] = true;
                rankOf[p] = next;
            }
        }
        return consistent;
    }

    private static String join(List<Integer> l) {
        StringBuilder b = new StringBuilder();
        for (int x : l) {
            b.append(b.length() == 0 ? "" : ",").append(x);
        }
        return b.toString();
    }

    /** Binds ND4J to the GPU Spark assigned this task (when the backend has GPUs); returns the address, or "cpu". */
    static String bindDevice(org.apache.spark.TaskContext task) {
        Map<String, ResourceInformation> res = task.resourcesJMap();
        ResourceInformation gpu = res == null ? null : res.get("gpu");
        if (gpu == null || gpu.addresses().length == 0) {
            return "cpu";
        }
        String address = gpu.addresses()[0];
        boolean cuda = Nd4j.getBackend().getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT).contains("cu");
        if (cuda) {
            Nd4j.getAffinityManager().unsafeSetDevice(Integer.parseInt(address.trim()));
            return "gpu:" + address;
        }
        return "gpu:" + address + " (not bound: " + Nd4j.getBackend().getClass().getSimpleName() + ")";
    }

    private WorkerResult train(BarrierTaskContext task, EngineContext ctx, Mesh mesh, int rank, int partition, String executor,
                               String host, String device, boolean consistent, long wall0, int workersHere) throws IOException {
        try {
            return trainOn(task, ctx, mesh, rank, partition, executor, host, device, consistent, wall0, workersHere);
        } catch (IOException | RuntimeException | Error e) {
            mesh.close();
            Replica rep = Replica.RESIDENT.get(Replica.key(ctx.runId(), rank));
            if (rep != null && rep.mesh == mesh) {
                rep.mesh = null;
            }
            if (rep != null) {
                rep.busy.set(false);
            }
            throw e;
        }
    }

    private WorkerResult trainOn(BarrierTaskContext task, EngineContext ctx, Mesh mesh, int rank, int partition, String executor,
                                 String host, String device, boolean consistent, long wall0, int workersHere) throws IOException {
        String key = Replica.key(ctx.runId(), rank);
        Replica rep;
        String note = null;
        if (consistent) {
            rep = Replica.RESIDENT.get(key);
        } else {
            Replica.RESIDENT.remove(key);
            if (restoreDir != null) {
                rep = Replica.restore(ctx, rank, restoreDir);
                note = "restored from " + restoreDir + " at step " + rep.step;
            } else {
                rep = Replica.fresh(ctx, rank);
                note = "initialised from seed " + ctx.seed();
            }
            String[] prints = task.allGather(rep.step + "/" + rep.fingerprint());
            for (String p : prints) {
                if (!p.equals(prints[0])) {
                    throw new IllegalStateException("replicas differ after restoring: " + Arrays.toString(prints));
                }
            }
            if (request.from() != 0) {
                LOG.info("rank {} on executor {}: {} (not every one of the {} ranks had its state at step {})", rank, executor, note,
                        ctx.workers(), request.from());
            }
        }
        // On the fast path this task claimed the replica already (it holds the mesh the task arrived with).
        if (rep.mesh != mesh && !rep.busy.compareAndSet(false, true)) {
            throw new IllegalStateException("replica " + key + " is in use by another task");
        }
        if (rep.mesh != mesh) {
            rep.dropMesh();
        }
        rep.mesh = mesh;
        rep.workersHere = workersHere;
        Replica.RESIDENT.put(key, rep);
        try {
            long start = rep.step;
            long end = request.to();
            double[] losses = new double[(int) (end - start)];
            boolean exact = ctx.averagingFrequency() == 1;
            double[] gradSquares = exact ? new double[losses.length] : null;
            double[] paramSquares = exact ? new double[losses.length] : null;
            double[] t = new double[4];
            long sent0 = mesh.bytesSent();
            long recv0 = mesh.bytesReceived();
            double setup = (System.nanoTime() - wall0) / 1e9;
            ExecutorService prefetch = Executors.newSingleThreadExecutor(r -> {
                Thread th = new Thread(r, "bit-prefetch");
                th.setDaemon(true);
                return th;
            });
            try {
                Future<DataSet[]> next = start < end ? prefetch.submit(() -> load(ctx, rank, start)) : null;
                for (long s = start; s < end; s++) {
                    if (task.isInterrupted()) {
                        throw new IllegalStateException("task killed at step " + s);
                    }
                    long a = System.nanoTime();
                    DataSet[] micro;
                    try {
                        micro = next.get();
                    } catch (Exception e) {
                        throw new IOException("loading step " + s + " for rank " + rank + ": " + e.getMessage(), e);
                    }
                    long following = s + 1;
                    next = following < end ? prefetch.submit(() -> load(ctx, rank, following)) : null;
                    long b = System.nanoTime();
                    double loss = 0;
                    for (int j = 0; j < micro.length; j++) {
                        rep.net.setInputs(micro[j].getFeatures());
                        rep.net.setLabels(micro[j].getLabels());
                        io.bitspark.model.train.ActivationWorkspace.prepare(rep.net, micro[j].getFeatures());
                        rep.net.computeGradientAndScore();
                        loss += rep.net.score();
                        if (rep.accumulator != null) {
                            if (j == 0) {
                                rep.accumulator.assign(rep.grads);
                            } else {
                                rep.accumulator.addi(rep.grads);
                            }
                        }
                    }
                    rep.net.clearLayersStates();
                    // Free each step's batch now rather than when the garbage collector gets to it: executors keep
                    // freed native memory mapped (see NativeEnvironment), so late frees would grow their RSS.
                    for (DataSet d : micro) {
                        d.getFeatures().close();
                        d.getLabels().close();
                    }
                    losses[(int) (s - start)] = loss / micro.length;
                    long c = System.nanoTime();
                    double lr = ctx.schedule().lr(s);
                    long u;
                    if (ctx.averagingFrequency() == 1) {
                        mesh.reduceScatter(rep.gradient(), ctx.bf16Gradients());
                        u = System.nanoTime();
                        double scale = 1.0;
                        long exchanged = 0;
                        if (ctx.gradClipNorm() > 0) {
                            // The global norm: every rank's partial sum, summed over the mesh (a few bytes).
                            double g2 = rep.layout.gradientSquares(rep.gradient(), rep.from, rep.to, ctx.globalBatch());
                            long e0 = System.nanoTime();
                            double norm = Math.sqrt(sumOverRanks(mesh, ctx.workers(), g2));
                            scale = norm > ctx.gradClipNorm() ? ctx.gradClipNorm() / norm : 1.0;
                            exchanged = System.nanoTime() - e0;
                        }
                        // The update's pass also sums the squares of this slice's gradient and updated parameters.
                        double[] squares = ShardedSgd.step(rep.params, rep.gradient(), rep.velocity, rep.velocityOffset, rep.from,
                                rep.to, rep.layout, ctx.globalBatch(), scale, lr, ctx.momentum());
                        gradSquares[(int) (s - start)] = squares[0];
                        paramSquares[(int) (s - start)] = squares[1];
                        long w = System.nanoTime();
                        mesh.allGather(rep.params);
                        t[3] += (w - u - exchanged) / 1e9;
                        t[2] += (System.nanoTime() - w + u - c + exchanged) / 1e9;
                    } else {
                        ShardedSgd.step(rep.params, rep.gradient(), rep.velocity, 0, 0, rep.params.length(), rep.layout,
                                ctx.globalBatch() / ctx.workers(), lr, ctx.momentum());
                        u = System.nanoTime();
                        t[3] += (u - c) / 1e9;
                        if ((s + 1) % ctx.averagingFrequency() == 0 || s + 1 == end) {
                            mesh.allReduceMean(rep.params);
                            mesh.allReduceMean(rep.velocity);
                        }
                        t[2] += (System.nanoTime() - u) / 1e9;
                    }
                    t[0] += (b - a) / 1e9;
                    t[1] += (c - b) / 1e9;
                    rep.step = s + 1;
                }
            } finally {
                prefetch.shutdownNow();
            }
            // Before anything reads the parameters: each rank checks its slice, and all learn whether any slice is bad
            // (one float per rank over the mesh; the rank that found it names the parameter to the driver).
            String invalid = null;
            if (request.evaluate() || request.fewshot() || request.checkpoint() != null) {
                long[] mine = ParameterLayout.slice(rep.params.length(), rank, ctx.workers());
                long bad = ParameterLayout.firstNonFinite(rep.params, mine[0], mine[1]);
                boolean any = anyRank(mesh, rank, ctx.workers(), bad >= 0);
                invalid = bad >= 0 ? rep.layout.describe(bad) + " = " + rep.params.getFloat(bad) : any ? "see another rank" : null;
            }
            HoldoutEvaluator.Part eval = null;
            if (request.evaluate() && invalid == null) {
                eval = ctx.evaluator().part(rep.net, rank, ctx.workers());
            }
            List<io.bitspark.jobs.pretrain.FewShotEvaluator.Part> fewshot = null;
            if (request.fewshot() && invalid == null) {
                fewshot = ctx.fewshot().part(rep.net, rank, ctx.workers());
            }
            String checkpoint = null;
            String checkpointError = null;
            if (request.checkpoint() != null && invalid == null) {
                try {
                    checkpoint = checkpoint(ctx, mesh, rep, request.checkpoint());
                } catch (CheckpointWriteException e) {
                    checkpointError = e.getMessage();
                    LOG.warn("rank {}: writing checkpoint {} failed: {}", rank, request.checkpoint().dir(), checkpointError);
                }
                // Every rank learns whether the checkpoint exists (the run must not end before it does); rank 0 says why not.
                if (anyRank(mesh, rank, ctx.workers(), checkpointError != null) && checkpointError == null) {
                    checkpointError = "written by rank 0";
                }
            }
            long sent = mesh.bytesSent() - sent0;
            long recv = mesh.bytesReceived() - recv0;
            if (request.last() && invalid == null && checkpointError == null) {
                Replica.RESIDENT.remove(key);
                rep.dropMesh();
            }
            Runtime rt = Runtime.getRuntime();
            long[] rss = rss();
            return new WorkerResult(rank, partition, executor, host, device, start, end, losses, setup, t[0], t[1], t[2], t[3],
                    (System.nanoTime() - wall0) / 1e9, sent, recv, eval, fewshot, checkpoint, note, rt.totalMemory() - rt.freeMemory(),
                    rss[0], rss[1], invalid, checkpointError, gradSquares, paramSquares);
        } finally {
            rep.busy.set(false);
        }
    }

    /** Micro-batches of this rank's share of a step, decoded and augmented. */
    private static DataSet[] load(EngineContext ctx, int rank, long step) throws IOException {
        DataSet[] out = new DataSet[ctx.microBatches()];
        for (int j = 0; j < out.length; j++) {
            out[j] = ctx.trainLoader().load(ctx.share(step, rank, j));
        }
        return out;
    }

    /** True on every rank when {@code mine} is true on any rank. */
    static boolean anyRank(Mesh mesh, int rank, int workers, boolean mine) throws IOException {
        return sumOverRanks(mesh, workers, mine ? 1 : 0) > 0;
    }

    /** The sum over all ranks of one value per rank, on every rank (a float per rank over the mesh). */
    static double sumOverRanks(Mesh mesh, int workers, double value) throws IOException {
        org.nd4j.linalg.api.ndarray.INDArray f = Nd4j.valueArrayOf(new long[] {workers}, (float) value);
        try {
            mesh.allReduceSum(f);
            return f.getDouble(0);
        } finally {
            f.close();
        }
    }

    /** A checkpoint that could not be written to the store; the collectives of the round completed regardless. */
    static final class CheckpointWriteException extends IOException {
        CheckpointWriteException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Rank 0 writes the checkpoint itself, streaming the momentum slices of all ranks into the model file as they
     * arrive (it never holds the whole momentum); the other ranks send their slices. When the store fails, rank 0
     * still receives every slice (discarding them), so the workers stay in step and the driver can retry the write.
     */
    private static String checkpoint(EngineContext ctx, Mesh mesh, Replica rep, TrainingEngine.CheckpointRequest c) throws IOException {
        boolean sharded = ctx.averagingFrequency() == 1;
        org.nd4j.linalg.api.ndarray.INDArray own = rep.velocity.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0,
                sharded ? rep.to - rep.from : rep.params.length()));
        if (rep.rank != 0) {
            if (sharded) {
                mesh.gatherTo0(own, null);
            }
            return null;
        }
        rep.net.getConfiguration().setIterationCount(Math.toIntExact(rep.step));
        rep.net.getConfiguration().setEpochCount(Math.toIntExact(ctx.epochOf(rep.step)));
        Provenance p = Provenance.read(new java.io.ByteArrayInputStream(c.provenanceJson().getBytes(StandardCharsets.UTF_8)), c.dir());
        int[] gather = {0}; // 0: not started, 1: receiving slices from the mesh, 2: done
        try {
            var store = ctx.runStore();
            ProjectCheckpoint.write(store, c.dir(), out -> {
                DrainOnFailure d = new DrainOnFailure(out);
                StreamedModelZip.write(d, rep.net, rep.params.length(), sink -> {
                    gather[0] = 1;
                    if (sharded) {
                        mesh.gatherTo0(own, sink);
                    } else {
                        sink.put(io.bitspark.model.layers.NativeMemory.address(own), own.length());
                    }
                    gather[0] = 2;
                });
                d.rethrow();
            }, p);
            return store.uri(c.dir());
        } catch (IOException | RuntimeException e) {
            if (gather[0] == 1) {
                throw e; // the exchange failed (writes to the store cannot fail here): the round fails
            }
            if (sharded && gather[0] == 0) {
                mesh.gatherTo0(own, (address, count) -> { });
            }
            throw new CheckpointWriteException(e.toString(), e);
        }
    }

    /** Passes writes on until the first failure, then swallows the rest; {@link #rethrow} reports that failure. */
    private static final class DrainOnFailure extends java.io.FilterOutputStream {
        private IOException failure;

        DrainOnFailure(java.io.OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (failure == null) {
                try {
                    out.write(b, off, len);
                } catch (IOException e) {
                    failure = e;
                }
            }
        }

        @Override
        public void flush() throws IOException {
            if (failure == null) {
                try {
                    out.flush();
                } catch (IOException e) {
                    failure = e;
                }
            }
        }

        @Override
        public void close() throws IOException {
            flush();
        }

        void rethrow() throws IOException {
            if (failure != null) {
                throw failure;
            }
        }
    }

    /** Resident set size and its peak, in bytes (Linux), or -1. */
    static long[] rss() {
        long cur = -1;
        long peak = -1;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    cur = kib(line);
                } else if (line.startsWith("VmHWM:")) {
                    peak = kib(line);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return new long[] {cur, peak};
    }

    private static long kib(String line) {
        return 1024 * Long.parseLong(line.replaceAll("[^0-9]", ""));
    }
}
