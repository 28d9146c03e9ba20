package io.bitspark.jobs.cli;

import java.util.concurrent.Callable;

import io.bitspark.jobs.io.Stores;
import io.bitspark.jobs.report.BrowserCheck;
import io.bitspark.jobs.report.RunReport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code bit report}: an offline HTML page with plots of a run. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Write RUN/report/index.html with PNG plots of loss, lr, holdout metrics and images/s over steps, "
                + "and few-shot accuracy against k (from RUN/fewshot.json); with several runs, one page overlaying them.")
public final class ReportCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "RUN_URI", arity = "1..*", description = "A pretrain run directory (or a fewshot output "
            + "directory); several runs are overlaid on one page written to --output.")
    java.util.List<String> runs;

    @CommandLine.Option(names = "--output", paramLabel = "DIR", description = "Where the page comparing several runs goes "
            + "(DIR/index.html and its PNGs); needed with more than one run.")
    String output;

    @CommandLine.Option(names = "--check", description = "Open the page in headless Chromium: every image must load and "
            + "every link name a file of the report; writes report/screenshot.png. Exit 1 when something is broken. "
            + "Local runs only.")
    boolean check;

    @Override
    public Integer call() throws Exception {
        System.setProperty("java.awt.headless", "true");
        String page;
        if (runs.size() == 1 && output == null) {
            page = RunReport.write(Stores.directory(runs.get(0)));
        } else {
            if (output == null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "several runs need --output DIR for the comparison page");
            }
            java.util.List<io.bitspark.model.checkpoint.ArtifactStore> stores = new java.util.ArrayList<>();
            java.util.List<String> labels = new java.util.ArrayList<>();
            for (String r : runs) {
                stores.add(Stores.directory(r));
                String name = r.replaceAll("/+$", "");
                name = name.substring(name.lastIndexOf('/') + 1);
                labels.add(labels.contains(name) ? name + " #" + (labels.size() + 1) : name);
            }
            page = RunReport.compare(stores, labels, Stores.directory(output));
        }
        java.io.PrintWriter out = spec.commandLine().getOut();
        out.println("report: " + page);
        if (check) {
            java.net.URI uri = java.net.URI.create(page);
            if (!"file".equals(uri.getScheme())) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--check needs a run on the local file system, not " + page);
            }
            BrowserCheck.Result r = BrowserCheck.check(java.nio.file.Path.of(uri));
            out.printf(java.util.Locale.ROOT, "browser check: %d images, %d links, %s; screenshot %s%n", r.images(), r.links(),
                    r.ok() ? "all load" : r.problems().size() + " problem(s)", r.screenshot());
            r.problems().forEach(p -> out.println("  " + p));
            out.flush();
            return r.ok() ? 0 : 1;
        }
        out.flush();
        return 0;
    }
}
