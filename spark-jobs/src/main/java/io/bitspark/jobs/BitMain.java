package io.bitspark.jobs;

import java.io.PrintWriter;

import io.bitspark.jobs.cli.BenchCommand;
import io.bitspark.jobs.cli.DemoCommand;
import io.bitspark.jobs.cli.EvaluateCommand;
import io.bitspark.jobs.cli.ExportCommand;
import io.bitspark.jobs.cli.FashionMnistCommand;
import io.bitspark.jobs.cli.FewshotCommand;
import io.bitspark.jobs.cli.FinetuneCommand;
import io.bitspark.jobs.cli.PrepareCommand;
import io.bitspark.jobs.cli.PretrainCommand;
import io.bitspark.jobs.cli.ReportCommand;
import io.bitspark.jobs.cli.InfoCommand;
import io.bitspark.jobs.cli.ModelCommand;
import io.bitspark.jobs.cli.PredictCommand;
import io.bitspark.jobs.cli.VersionInfo;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of the jobs jar, for {@code bin/bit <command> ...} and
 * {@code spark-submit --class io.bitspark.jobs.BitMain bit-jobs.jar <command> ...}. It never sets the Spark
 * master: spark-submit, or bin/bit through {@code -Dspark.master}, decides where a job runs.
 */
@Command(name = "bit", mixinStandardHelpOptions = true, versionProvider = VersionInfo.class,
        description = "Big Transfer (BiT) ResNet-v2 pre-training, transfer and evaluation on Apache Spark.",
        subcommands = {PrepareCommand.class, PretrainCommand.class, FashionMnistCommand.class, ModelCommand.class, InfoCommand.class,
                PredictCommand.class, ExportCommand.class, FinetuneCommand.class, FewshotCommand.class, EvaluateCommand.class,
                ReportCommand.class, DemoCommand.class,
                BenchCommand.class, CommandLine.HelpCommand.class})
public final class BitMain implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code (0 success, 1 failure, 2 usage error). */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** As {@link #run(String...)}, writing the command's output and errors to the given writers. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new BitMain());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            // Bad input (IllegalArgumentException) gets its one-line message; anything else also its trace.
            org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(BitMain.class);
            if (ex instanceof IllegalArgumentException) {
                log.debug("{} failed", commandLine.getCommandName(), ex);
            } else {
                log.error("{} failed", commandLine.getCommandName(), ex);
            }
            commandLine.getErr().println("bit " + commandLine.getCommandName() + ": " + ex.getMessage());
            return 1;
        });
        return cl.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
