package io.bitspark.jobs.engine;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import io.bitspark.model.checkpoint.ArtifactStore;
import io.bitspark.model.checkpoint.ProjectCheckpoint;
import io.bitspark.model.train.ParameterLayout;

/**
 * One worker's resident state on an executor, kept between rounds: the network (full parameters, identical on
 * every rank), and its momentum: the slice {@code [from, to)} it owns with exact synchronous SGD (optimizer
 * state sharded), or a full copy with local SGD ({@code averaging_frequency > 1}). It stays in this JVM across
 * rounds and Spark jobs until the run ends; a round reuses it only when it is at exactly the round's first step.
 */
final class Replica {

    /** Replicas held by this JVM, by run and rank. */
    static final Map<String, Replica> RESIDENT = new ConcurrentHashMap<>();

    final String runId;
    final int rank;
    final int workers;
    final ComputationGraph net;
    final INDArray params;
    final INDArray grads;
    final ParameterLayout layout;
    final long from;
    final long to;
    final INDArray velocity;
    final long velocityOffset;
    /** Sum of micro-batch gradients (null with one micro-batch: the network's own gradient buffer serves). */
    final INDArray accumulator;
    final AtomicBoolean busy = new AtomicBoolean();
    volatile long step;
    /** The connections to the other workers, kept for the next round; null until set up (or after a failure). */
    volatile Mesh mesh;
    /** Workers sharing this JVM (their cores are split among them). */
    volatile int workersHere = 1;

    void dropMesh() {
        Mesh m = mesh;
        mesh = null;
        if (m != null) {
            m.close();
        }
    }

    private Replica(EngineContext ctx, int rank, ComputationGraph net, long step, INDArray fullVelocity) {
        this.runId = ctx.runId();
        this.rank = rank;
        this.workers = ctx.workers();
        this.net = net;
        this.params = flat(net.params());
        if (net.getFlattenedGradients() == null) {
            net.initGradientsView();
        }
        this.grads = flat(net.getFlattenedGradients());
        this.layout = ParameterLayout.of(net);
        long[] s = ParameterLayout.slice(params.length(), rank, workers);
        this.from = s[0];
        this.to = s[1];
        boolean sharded = ctx.averagingFrequency() == 1;
        this.velocityOffset = sharded ? from : 0;
        long n = sharded ? to - from : params.length();
        try (var ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            this.velocity = Nd4j.zeros(DataType.FLOAT, Math.max(1, n));
            if (fullVelocity != null && n > 0) {
                velocity.get(NDArrayIndex.interval(0, n)).assign(fullVelocity.get(NDArrayIndex.interval(velocityOffset, velocityOffset + n)));
            }
            this.accumulator = ctx.microBatches() > 1 ? Nd4j.zeros(DataType.FLOAT, params.length()) : null;
        }
        this.step = step;
    }

    static String key(String runId, int rank) {
        return runId + "#" + rank;
    }

    static INDArray flat(INDArray a) {
        return a.rank() == 1 ? a : a.reshape(a.length());
    }

    /** A fresh replica at step 0, initialised from the run's seed. */
    static Replica fresh(EngineContext ctx, int rank) {
        return new Replica(ctx, rank, ctx.newNetwork(), 0, null);
    }

    /** A replica restored from a checkpoint of the run (read by this executor from the store). */
    static Replica restore(EngineContext ctx, int rank, String dir) throws IOException {
        ArtifactStore store = ctx.runStore();
        ProjectCheckpoint.Loaded l = ProjectCheckpoint.read(store, dir, true);
        ComputationGraph net = l.net();
        INDArray state = net.getUpdater() == null ? null : net.getUpdater().getStateViewArray();
        if (state == null || state.length() != net.numParams()) {
            throw new IOException(store.uri(dir) + ": momentum state of " + (state == null ? 0 : state.length())
                    + " values for " + net.numParams() + " parameters");
        }
        INDArray full = flat(state);
        Replica r = new Replica(ctx, rank, net, l.provenance().globalStep(), full);
        net.setUpdater(null); // the momentum now lives in the replica
        return r;
    }

    /** A cheap fingerprint of the parameters: equal on every rank when the replicas are identical. */
    String fingerprint() {
        return Double.toHexString(params.sumNumber().doubleValue()) + "/" + Double.toHexString(params.norm2Number().doubleValue());
    }

    /** The gradient vector the exchange works on. */
    INDArray gradient() {
        return accumulator != null ? accumulator : grads;
    }

}
