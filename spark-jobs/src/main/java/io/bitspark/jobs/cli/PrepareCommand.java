package io.bitspark.jobs.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.apache.spark.sql.SparkSession;

import io.bitspark.data.image.ImageProcessor;
import io.bitspark.data.manifest.DatasetManifest;
import io.bitspark.data.prepare.InputFormat;
import io.bitspark.data.prepare.PrepareConfig;
import io.bitspark.data.prepare.PrepareJob;
import io.bitspark.jobs.SparkSessions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bit prepare}: an image set into shuffled training shards with a manifest. */
@Command(name = "prepare", mixinStandardHelpOptions = true,
        description = "Turn an image set (image folder, ImageNet-21k tars, or a CSV/JSONL/Parquet manifest) into "
                + "shuffled Parquet shards, a holdout split, a rejects report and manifest.json.")
public final class PrepareCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--input", required = true, paramLabel = "URI", description = "The image set (local path, file://, hdfs://, s3a://).")
    String input;

    @Option(names = "--format", required = true, description = "imagefolder, imagenet21k or manifest.")
    String format;

    private static final ImageProcessor.Config DEFAULTS = ImageProcessor.Config.defaults();

    @Option(names = "--output", required = true, paramLabel = "URI", description = "Dataset directory to write.")
    String output;

    @Option(names = "--max-side", description = "Bound on the shorter side of stored images (default: ${DEFAULT-VALUE}).")
    int maxSide = DEFAULTS.maxSide();

    @Option(names = "--jpeg-quality", description = "Quality of re-encoded JPEGs (default: ${DEFAULT-VALUE}).")
    int jpegQuality = DEFAULTS.jpegQuality();

    @Option(names = "--max-bytes", description = "Largest input file in bytes (default: ${DEFAULT-VALUE}).")
    long maxBytes = DEFAULTS.maxBytes();

    @Option(names = "--max-pixels", description = "Largest image in pixels, checked on the header (default: ${DEFAULT-VALUE}).")
    long maxPixels = DEFAULTS.maxPixels();

    @Option(names = "--min-side", description = "Smallest accepted side in pixels (default: ${DEFAULT-VALUE}).")
    int minSide = DEFAULTS.minSide();

    @Option(names = "--shard-size-mb", description = "Target shard size in MiB (default: ${DEFAULT-VALUE}).")
    double shardSizeMb = PrepareConfig.DEFAULT_SHARD_BYTES / (double) (1 << 20);

    @Option(names = "--holdout", defaultValue = "0.02", description = "Fraction held out for validation, by key hash (default: ${DEFAULT-VALUE}).")
    double holdout;

    @Option(names = "--seed", defaultValue = "0", description = "Shuffle seed, recorded in the manifest (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--class-names", paramLabel = "URI", description = "Class list, one per line, in index order.")
    String classNames;

    @Option(names = "--wordnet-names", paramLabel = "URI", description = "ImageNet-21k 'wnid<TAB>lemmas' file for class names.")
    String wordnetNames;

    @Option(names = "--dedup-against", paramLabel = "URI", arity = "1..*",
            description = "Evaluation sets (image folders or prepared datasets) whose near-duplicates are removed.")
    List<String> dedupAgainst = new ArrayList<>();

    @Option(names = "--dedup-distance", defaultValue = "4", description = "Max pHash Hamming distance of a near-duplicate, 0-7 (default: ${DEFAULT-VALUE}).")
    int dedupDistance;

    @Option(names = "--partitions", defaultValue = "0", description = "Processing tasks; 0 chooses (default: ${DEFAULT-VALUE}).")
    int partitions;

    @Option(names = "--allow-root", paramLabel = "URI", description = "Manifests: another root its paths may point into besides its "
            + "own folder, e.g. s3a://bucket/images/ (repeatable); http(s) is only read from a root listed here.")
    List<String> allowRoots = new ArrayList<>();

    @Option(names = "--overwrite", description = "Replace an output that holds a data set prepared from other inputs or settings.")
    boolean overwrite;

    @Option(names = "--multi-label", description = "Manifests: multi-label (sigmoid) whatever the label column; without it, a "
            + "'labels' column or array values mean multi-label and a 'label' column single-label.")
    boolean multiLabel;

    @Override
    public Integer call() throws Exception {
        PrepareConfig config = new PrepareConfig(input, InputFormat.parse(format), output,
                new ImageProcessor.Config(maxSide, jpegQuality, maxBytes, maxPixels, minSide),
                Math.round(shardSizeMb * (1 << 20)), holdout, seed, classNames, wordnetNames, dedupAgainst,
                dedupDistance, partitions, allowRoots, overwrite, multiLabel);
        SparkSession spark = SparkSessions.get("bit prepare");
        DatasetManifest m = new PrepareJob(spark, config).run();
        PrintWriter out = spec.commandLine().getOut();
        DatasetManifest.Totals t = m.totals();
        out.printf(Locale.ROOT, "prepared %s: %,d inputs = %,d written (%,d train in %d shards, %,d holdout) + %,d rejected%n",
                output, t.inputs(), t.written(), t.train(), m.train().size(), t.holdout(), t.rejected());
        if (!m.rejects().isEmpty()) {
            out.printf(Locale.ROOT, "rejects by reason: %s (listed in %s)%n", m.rejects(), m.rejectsFile());
        }
        out.flush();
        return 0;
    }
}
