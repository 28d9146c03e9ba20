package io.bitspark.jobs.io;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;

import io.bitspark.model.arch.ResNetV2Spec;
import io.bitspark.model.checkpoint.ArtifactStore;
import io.bitspark.model.checkpoint.BitNpz;
import io.bitspark.model.checkpoint.CheckpointException;
import io.bitspark.model.checkpoint.ProjectCheckpoint;
import io.bitspark.model.checkpoint.Provenance;
import io.bitspark.model.io.Npz;

/**
 * Loads a network from any form a user may hand over: a project checkpoint directory (model.zip +
 * provenance.json), an official-layout BiT {@code .npz} (with or without a provenance file beside it), or a
 * DL4J model zip, from a local path or a Hadoop URI.
 */
public final class ModelLoader {

    /** Suffix of the provenance file written beside single-file artifacts. */
    public static final String PROVENANCE_SUFFIX = ".provenance.json";

    private ModelLoader() {}

    /** A loaded network, its architecture, and its provenance (synthesised when the artifact has none). */
    public record Loaded(ComputationGraph net, ResNetV2Spec spec, Provenance provenance, String source) {}

    public static Loaded load(String uri, BitNpz.ImportOptions options, boolean loadUpdater) throws IOException {
        Stores.Location loc = Stores.locate(uri);
        ArtifactStore store = loc.store();
        String name = loc.name();
        if (store.exists(name + "/" + ProjectCheckpoint.PROVENANCE) || store.exists(name + "/" + ProjectCheckpoint.MODEL)) {
            ProjectCheckpoint.Loaded l = ProjectCheckpoint.read(store, name, loadUpdater);
            return new Loaded(l.net(), l.provenance().spec(), l.provenance(), loc.uri());
        }
        if (!store.exists(name)) {
            throw new CheckpointException(loc.uri() + ": no such checkpoint");
        }
        Provenance sibling = readSibling(store, name);
        if (name.endsWith(".npz")) {
            try (ArtifactStore.LocalFile f = store.localFile(name); Npz npz = Npz.open(f.path())) {
                ResNetV2Spec fileSpec = sibling != null && sibling.spec() != null ? sibling.spec()
                        : BitNpz.inferSpec(npz, options.groups());
                BitNpz.Imported imp = BitNpz.load(npz, fileSpec, options);
                Provenance p = sibling != null ? sibling.withSpec(imp.spec())
                        : Provenance.of(Provenance.Kind.IMPORT, imp.spec()).parent(loc.uri()).build();
                if (imp.headReplaced()) {
                    p = p.withClassNames(null);
                }
                return new Loaded(imp.net(), imp.spec(), p, loc.uri());
            }
        }
        if (name.endsWith(".zip")) {
            if (sibling == null || sibling.spec() == null) {
                throw new CheckpointException(loc.uri() + ": a DL4J model zip needs its provenance file ("
                        + name + PROVENANCE_SUFFIX + ") to name its architecture");
            }
            try (ArtifactStore.LocalFile f = store.localFile(name)) {
                ComputationGraph net = ModelSerializer.restoreComputationGraph(f.path().toFile(), loadUpdater);
                io.bitspark.model.layers.StandardizedKernels.AUTO.applyTo(net);
                return new Loaded(net, sibling.spec(), sibling, loc.uri());
            }
        }
        throw new CheckpointException(loc.uri() + ": not a checkpoint (expected a checkpoint directory, a .npz or a DL4J .zip)");
    }

    static Provenance readSibling(ArtifactStore store, String name) throws IOException {
        String p = name + PROVENANCE_SUFFIX;
        if (!store.exists(p)) {
            return null;
        }
        try (InputStream in = store.open(p)) {
            return Provenance.read(in, store.uri(p));
        }
    }

    /** Writes {@code provenance} beside a single-file artifact. */
    public static void writeSibling(ArtifactStore store, String name, Provenance provenance) throws IOException {
        try (var out = store.create(name + PROVENANCE_SUFFIX)) {
            provenance.write(out);
        }
    }
}
