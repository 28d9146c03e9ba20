package io.bitspark.jobs.cli;

import java.io.OutputStream;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

import io.bitspark.jobs.io.ModelLoader;
import io.bitspark.jobs.io.Stores;
import io.bitspark.model.checkpoint.BitNpz;
import io.bitspark.model.checkpoint.ProjectCheckpoint;
import io.bitspark.model.checkpoint.Provenance;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bit export}: a checkpoint in the official BiT layout or as a project (DL4J) checkpoint, anywhere. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Export a checkpoint as an official BiT .npz (for the official code and timm) or as a DL4J checkpoint.")
public final class ExportCommand implements Callable<Integer> {

    enum Format { npz, dl4j }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    CheckpointOptions source;

    @Option(names = "--format", required = true, description = "npz or dl4j.")
    Format format;

    @Option(names = "--output", required = true, paramLabel = "URI",
            description = "Output file (npz) or directory (dl4j): local path, file://, hdfs://, s3a://.")
    String output;

    @Override
    public Integer call() throws Exception {
        ModelLoader.Loaded m = ModelLoader.load(source.checkpoint, source.importOptions(), format == Format.dl4j);
        Provenance p = m.provenance().withKind(Provenance.Kind.EXPORT, m.source());
        Stores.Location out = Stores.locate(output);
        long t0 = System.nanoTime();
        if (format == Format.npz) {
            try (OutputStream os = out.store().create(out.name())) {
                BitNpz.write(m.net(), os);
            }
            ModelLoader.writeSibling(out.store(), out.name(), p);
        } else {
            ProjectCheckpoint.write(out.store(), out.name(), m.net(), p, true);
        }
        PrintWriter w = spec.commandLine().getOut();
        w.printf(Locale.ROOT, "exported %s (%s, %,d parameters) to %s as %s in %.1f s%n", m.source(), m.spec().name(),
                m.net().numParams(), out.uri(), format, (System.nanoTime() - t0) / 1e9);
        w.flush();
        return 0;
    }
}
