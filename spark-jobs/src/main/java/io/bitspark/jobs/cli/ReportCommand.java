package io.bitspark.jobs.cli;

import java.util.concurrent.Callable;

import io.bitspark.jobs.io.Stores;
import io.bitspark.jobs.report.RunReport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code bit report}: an offline HTML page with plots of a run. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Write RUN/report/index.html with PNG plots of loss, lr, holdout metrics and images/s over steps, "
                + "and few-shot accuracy against k (from RUN/fewshot.json).")
public final class ReportCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "RUN_URI", description = "A pretrain run directory (or a fewshot output directory).")
    String run;

    @Override
    public Integer call() throws Exception {
        System.setProperty("java.awt.headless", "true");
        String page = RunReport.write(Stores.directory(run));
        spec.commandLine().getOut().println("report: " + page);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
