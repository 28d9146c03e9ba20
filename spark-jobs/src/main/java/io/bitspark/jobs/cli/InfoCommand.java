package io.bitspark.jobs.cli;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

import io.bitspark.data.manifest.DatasetManifest;
import io.bitspark.jobs.io.ModelLoader;
import io.bitspark.jobs.io.Stores;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Spec;
import io.bitspark.model.checkpoint.ArtifactStore;
import io.bitspark.model.checkpoint.BitNpz;
import io.bitspark.model.checkpoint.CheckpointException;
import io.bitspark.model.checkpoint.ProjectCheckpoint;
import io.bitspark.model.checkpoint.Provenance;
import io.bitspark.model.io.Npy;
import io.bitspark.model.io.Npz;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code bit info}: what an artifact is and where it came from. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Describe a prepared dataset (manifest), a checkpoint directory, a BiT .npz or a DL4J .zip.")
public final class InfoCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "URI", description = "The artifact (local path, file://, hdfs://, s3a://).")
    String uri;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Stores.Location loc = Stores.locate(uri);
        ArtifactStore store = loc.store();
        String name = loc.name();
        if (store.exists(name + "/" + DatasetManifest.FILE)) {
            DatasetInfo.print(out, loc.uri());
        } else if (store.exists(name + "/" + ProjectCheckpoint.PROVENANCE)) {
            boolean complete = ProjectCheckpoint.isComplete(store, name);
            out.printf(Locale.ROOT, "checkpoint %s (%s)%n", loc.uri(), !complete ? "INCOMPLETE: model file missing or wrong size"
                    : ProjectCheckpoint.isVerified(store, name) ? "complete, read back and verified when written" : "complete");
            print(out, ProjectCheckpoint.readProvenance(store, name));
        } else if (name.endsWith(".npz") && store.exists(name)) {
            describeNpz(out, store, name, loc.uri());
        } else if (store.exists(name + "/" + ProjectCheckpoint.MODEL)) {
            throw new CheckpointException(loc.uri() + ": not a complete checkpoint (no " + ProjectCheckpoint.PROVENANCE + ")");
        } else if (name.endsWith(".zip") && store.exists(name)) {
            out.printf(Locale.ROOT, "DL4J model %s (%,d bytes)%n", loc.uri(), store.size(name));
            printSibling(out, store, name);
        } else {
            throw new CheckpointException(loc.uri() + ": no dataset manifest, checkpoint, .npz or .zip there");
        }
        out.flush();
        return 0;
    }

    private void describeNpz(PrintWriter out, ArtifactStore store, String name, String uri) throws Exception {
        try (ArtifactStore.LocalFile f = store.localFile(name); Npz npz = Npz.open(f.path())) {
            Map<String, Integer> dtypes = new TreeMap<>();
            long values = 0;
            for (String k : npz.keys()) {
                Npy.Header h = npz.header(k);
                dtypes.merge(h.descr(), 1, Integer::sum);
                values += h.elements();
            }
            out.printf(Locale.ROOT, "BiT .npz %s: %d arrays, %,d values, dtypes %s%n", uri, npz.keys().size(), values, dtypes);
            Provenance sibling = null;
            String p = name + ModelLoader.PROVENANCE_SUFFIX;
            if (store.exists(p)) {
                try (var in = store.open(p)) {
                    sibling = Provenance.read(in, store.uri(p));
                }
            }
            // GroupNorm groups are not in the format: the provenance beside the file knows them.
            ResNetV2Spec s = BitNpz.inferSpec(npz, sibling != null && sibling.spec() != null ? sibling.spec().groups() : null);
            out.printf(Locale.ROOT, "architecture: %s, units %s, width x%s, %d classes, %,d parameters%n", s.name(),
                    s.unitsPerStage(), s.widthLabel(), s.numClasses(), ResNetV2Builder.parameterCount(s));
        } catch (CheckpointException e) {
            out.println("not loadable as BiT: " + e.getMessage());
        }
        printSibling(out, store, name);
    }

    private void printSibling(PrintWriter out, ArtifactStore store, String name) throws Exception {
        String p = name + ModelLoader.PROVENANCE_SUFFIX;
        if (store.exists(p)) {
            try (var in = store.open(p)) {
                print(out, Provenance.read(in, store.uri(p)));
            }
        } else {
            out.println("provenance: none beside the file");
        }
    }

    static void print(PrintWriter out, Provenance p) {
        ResNetV2Spec s = p.spec();
        out.printf(Locale.ROOT, "kind: %s, created %s by bit %s%n", p.kind(), p.createdAt(), p.codeVersion());
        if (s != null) {
            out.printf(Locale.ROOT, "architecture: %s, units %s, width x%s, %d groups, %d classes, %,d parameters%n",
                    s.name(), s.unitsPerStage(), s.widthLabel(), s.groups(), s.numClasses(), ResNetV2Builder.parameterCount(s));
        }
        out.printf(Locale.ROOT, "position: global step %d, epoch %d; seed %d%n", p.globalStep(), p.epoch(), p.seed());
        out.printf(Locale.ROOT, "data manifest: %s%n", p.dataManifestHash() == null ? "-" : p.dataManifestHash());
        if (p.classNames() != null) {
            out.printf(Locale.ROOT, "classes: %d (%s%s)%n", p.classNames().size(),
                    String.join(", ", p.classNames().subList(0, Math.min(5, p.classNames().size()))),
                    p.classNames().size() > 5 ? ", ..." : "");
        }
        if (p.parent() != null) {
            out.printf(Locale.ROOT, "made from: %s%n", p.parent());
        }
        out.printf(Locale.ROOT, "libraries: %s%n", p.libraries());
        if (p.files() != null) {
            p.files().forEach((f, d) -> out.printf(Locale.ROOT, "file %s: %,d bytes, sha256 %s%n", f, d.bytes(), d.sha256()));
        }
        if (p.config() != null && !p.config().isEmpty()) {
            out.println("config:");
            new TreeMap<>(p.config()).forEach((k, v) -> out.printf(Locale.ROOT, "  %s = %s%n", k, v));
        }
    }
}
