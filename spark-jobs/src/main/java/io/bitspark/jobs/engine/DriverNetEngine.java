package io.bitspark.jobs.engine;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import org.deeplearning4j.nn.graph.ComputationGraph;

import io.bitspark.model.checkpoint.ArtifactStore;
import io.bitspark.model.checkpoint.ProjectCheckpoint;
import io.bitspark.model.checkpoint.Provenance;
import io.bitspark.model.train.ParameterLayout;

/** Engines whose network lives on the driver: evaluation and checkpoints run there. */
abstract class DriverNetEngine implements TrainingEngine {

    protected final EngineContext ctx;
    protected ComputationGraph net;
    /** Per step of the last {@link #steps} call: global gradient and parameter L2 norms, or null when not measured. */
    protected double[] gradNorms;
    protected double[] paramNorms;

    DriverNetEngine(EngineContext ctx, ComputationGraph net) {
        this.ctx = ctx;
        this.net = net;
    }

    /** Steps {@code [from, to)}; returns their losses and fills the timings. */
    protected abstract double[] steps(long from, long to, double[] timings) throws IOException;

    @Override
    public Round run(RoundRequest r) throws IOException {
        long t0 = System.nanoTime();
        double[] t = new double[4];
        gradNorms = null;
        paramNorms = null;
        double[] losses = r.steps() > 0 ? steps(r.from(), r.to(), t) : new double[0];
        String invalid = r.evaluate() || r.fewshot() || r.checkpoint() != null ? ParameterLayout.nonFinite(net) : null;
        Map<String, Double> eval = new java.util.LinkedHashMap<>();
        if (r.evaluate() && invalid == null) {
            eval.putAll(ctx.evaluator().evaluate(net));
        }
        if (r.fewshot() && invalid == null) {
            eval.putAll(ctx.fewshot().metrics(ctx.fewshot().part(net, 0, 1)));
        }
        String checkpoint = null;
        String checkpointError = null;
        if (r.checkpoint() != null && invalid == null) {
            try {
                checkpoint = write(ctx.runStore(), r.checkpoint(), net);
            } catch (IOException | RuntimeException e) {
                checkpointError = e.toString();
            }
        }
        double wall = (System.nanoTime() - t0) / 1e9;
        int k = Math.max(1, r.steps());
        double busy = t[0] + t[1] + t[2] + t[3];
        return new Round(r.from(), r.to(), losses, eval, checkpoint,
                new Timings(t[0] / k, t[1] / k, t[2] / k, t[3] / k, Math.max(0, wall - busy) / k), Traffic.NONE,
                List.of("driver"), null, -1, invalid, checkpointError, gradNorms, paramNorms);
    }

    static String write(ArtifactStore store, CheckpointRequest c, ComputationGraph net) throws IOException {
        Provenance p = Provenance.read(new ByteArrayInputStream(c.provenanceJson().getBytes(StandardCharsets.UTF_8)), c.dir());
        ProjectCheckpoint.write(store, c.dir(), net, p, true);
        return store.uri(c.dir());
    }

    @Override
    public ComputationGraph network() {
        return net;
    }

    @Override
    public void close() {
    }
}
