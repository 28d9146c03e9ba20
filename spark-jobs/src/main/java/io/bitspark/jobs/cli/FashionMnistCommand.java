package io.bitspark.jobs.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;

import io.bitspark.data.idx.FashionMnist;
import io.bitspark.data.idx.IdxImages;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bit fashion-mnist}: the Debian Fashion-MNIST files as image folders, ready for {@code prepare}. */
@Command(name = "fashion-mnist", mixinStandardHelpOptions = true,
        description = "Write Fashion-MNIST (Debian dataset-fashion-mnist) as PNG image folders <output>/<split>/<class>/.")
public final class FashionMnistCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--output", required = true, description = "Directory to write.")
    Path output;

    @Option(names = "--split", defaultValue = "train,test", split = ",", description = "train, test or both (default: ${DEFAULT-VALUE}).")
    String[] splits;

    @Option(names = "--classes", defaultValue = "0-9", description = "Class ids, e.g. 0-5 or 6,7,8,9 (default: ${DEFAULT-VALUE}).")
    String classes;

    @Option(names = "--per-class", defaultValue = "0", description = "At most this many images per class and split; 0 for all (default: ${DEFAULT-VALUE}).")
    int perClass;

    @Option(names = "--source", description = "Directory of the idx files (default: the Debian package's).")
    Path source = FashionMnist.DEBIAN_DIR;

    @Override
    public Integer call() throws Exception {
        Set<Integer> ids = parseClasses(classes);
        PrintWriter out = spec.commandLine().getOut();
        for (String split : splits) {
            IdxImages.Data d = FashionMnist.read(source, split.strip());
            int n = FashionMnist.writeFolder(d, split.strip(), output, ids, perClass);
            out.printf(Locale.ROOT, "wrote %,d %s images of classes %s to %s%n", n, split.strip(), ids, output.resolve(split.strip()));
        }
        out.flush();
        return 0;
    }

    static Set<Integer> parseClasses(String s) {
        Set<Integer> ids = new TreeSet<>();
        for (String part : s.split(",")) {
            String p = part.strip();
            if (p.contains("-")) {
                String[] ab = p.split("-");
                for (int i = Integer.parseInt(ab[0].strip()); i <= Integer.parseInt(ab[1].strip()); i++) {
                    ids.add(i);
                }
            } else if (!p.isEmpty()) {
                ids.add(Integer.parseInt(p));
            }
        }
        for (int i : ids) {
            if (i < 0 || i >= FashionMnist.CLASSES.size()) {
                throw new IllegalArgumentException("class id " + i + " is not in 0-" + (FashionMnist.CLASSES.size() - 1));
            }
        }
        return ids;
    }
}
