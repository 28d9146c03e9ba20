package io.bitspark.jobs.cli;

import java.io.PrintWriter;
import java.util.Locale;

import io.bitspark.data.manifest.DatasetManifest;
import io.bitspark.data.shards.PreparedDataset;

/** The summary {@code bit info} prints for a prepared dataset. */
final class DatasetInfo {

    private DatasetInfo() {}

    static void print(PrintWriter out, String uri) throws Exception {
        PreparedDataset d = PreparedDataset.open(uri, io.bitspark.jobs.io.Stores.hadoopConfiguration());
        DatasetManifest m = d.manifest();
        DatasetManifest.Totals t = m.totals();
        out.printf(Locale.ROOT, "dataset %s (%s, manifest %s)%n", uri, m.format(), d.manifestHash());
        out.printf(Locale.ROOT, "inputs %,d = written %,d + rejected %,d; train %,d in %d shards (%.1f MiB), holdout %,d in %d shards%n",
                t.inputs(), t.written(), t.rejected(), t.train(), m.train().size(),
                m.train().stream().mapToLong(DatasetManifest.Shard::bytes).sum() / (double) (1 << 20), t.holdout(), m.holdout().size());
        out.printf(Locale.ROOT, "classes: %d, %s%n", m.numClasses(), m.multiLabel() ? "multi-label" : "single-label");
        m.classes().stream().limit(10).forEach(c -> out.printf(Locale.ROOT, "  %5d %-40s %,10d%n", c.id(), c.name(), c.count()));
        if (m.numClasses() > 10) {
            out.printf(Locale.ROOT, "  ... %d more%n", m.numClasses() - 10);
        }
        if (!m.rejects().isEmpty()) {
            out.printf(Locale.ROOT, "rejects: %s (%s)%n", m.rejects(), m.rejectsFile());
        }
        DatasetManifest.Provenance p = m.provenance();
        // Manifests carry no time (identical re-runs write identical bytes); older ones may.
        out.printf(Locale.ROOT, "made from %s (%s), seed %d, by bit %s on Spark %s%s%n", p.input(), p.inputFormat(),
                p.seed(), p.codeVersion(), p.sparkVersion(), p.createdAt() == null ? "" : " at " + p.createdAt());
    }
}
