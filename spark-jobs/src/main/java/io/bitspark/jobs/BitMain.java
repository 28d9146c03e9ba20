package io.bitspark.jobs;

import java.io.PrintWriter;

import io.bitspark.jobs.cli.BenchCommand;
import io.bitspark.jobs.cli.DemoCommand;
import io.bitspark.jobs.cli.DoctorCommand;
import io.bitspark.jobs.cli.EvaluateCommand;
import io.bitspark.jobs.cli.ExportCommand;
import io.bitspark.jobs.cli.FashionMnistCommand;
import io.bitspark.jobs.cli.FewshotCommand;
import io.bitspark.jobs.cli.FinetuneCommand;
import io.bitspark.jobs.cli.PrepareCommand;
import io.bitspark.jobs.cli.PretrainCommand;
import io.bitspark.jobs.cli.ReportCommand;
import io.bitspark.jobs.cli.SuiteCommand;
import io.bitspark.jobs.cli.SuiteDataCommand;
import io.bitspark.jobs.cli.InfoCommand;
import io.bitspark.jobs.cli.ModelCommand;
import io.bitspark.jobs.cli.PlanCommand;
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
                SuiteCommand.class, SuiteDataCommand.class, ReportCommand.class, PlanCommand.class, DemoCommand.class,
                BenchCommand.class, DoctorCommand.class, CommandLine.HelpCommand.class})
public final class BitMain implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /**
     * Commands that compute nothing with ND4J on this JVM (pre-training on Spark computes on the executors, which
     * check their own devices), so a CUDA build may run them on a driver without a GPU.
     */
    static final java.util.Set<String> NO_DEVICE = java.util.Set.of("prepare", "info", "report", "doctor", "help", "fashion-mnist",
            "pretrain", "plan");

    /** Runs a command line and returns its exit code (0 success, 1 failure, 2 usage error, 3 no usable device). */
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
        cl.setExecutionStrategy(parse -> {
            CommandLine.ParseResult sub = parse.subcommand();
            boolean single = sub != null && sub.hasMatchedOption("--single-process");
            if (sub != null && (!NO_DEVICE.contains(sub.commandSpec().name()) || single) && !sub.isUsageHelpRequested()
                    && !sub.isVersionHelpRequested() && io.bitspark.model.runtime.DeviceCheck.cudaBuild()) {
                io.bitspark.model.runtime.DeviceCheck.Report r = io.bitspark.model.runtime.DeviceCheck.inspect();
                if (r.problem() != null) {
                    err.println("bit " + sub.commandSpec().name() + ": no usable GPU on this node: " + r.problem());
                    err.flush();
                    return 3;
                }
            }
            return new CommandLine.RunLast().execute(parse);
        });
        return cl.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
