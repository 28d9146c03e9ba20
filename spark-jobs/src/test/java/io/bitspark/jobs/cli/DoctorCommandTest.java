package io.bitspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import io.bitspark.data.SparkTestSession;
import io.bitspark.jobs.cli.ModelCommandTest.Run;

class DoctorCommandTest {

    /** On this CPU machine: the CPU backend, its threads, no GPU, the Spark settings and status ok. */
    @Test
    void printsTheBackendDevicesEnvironmentAndSparkSettings() {
        Run r = ModelCommandTest.bit("doctor");
        assertEquals(0, r.code(), r.err());
        String o = r.out();
        for (String field : new String[] {"backend:      CPU (ND4J 1.0.0-M2.1, CPU build)", "cpu:          " + Runtime.getRuntime().availableProcessors()
                + " cores, OpenMP threads ", "gpus:         none used (CPU build", "java:         17", "env:          OMP_NUM_THREADS=",
                "env:          CUDA_VISIBLE_DEVICES=", "spark:        spark.master = ", "spark:        spark.task.cpus = ",
                "spark:        spark.task.resource.gpu.amount = ", "spark:        spark.driver.maxResultSize = ", "status:       ok"}) {
            assertTrue(o.contains(field), "'" + field + "' missing:\n" + o);
        }
    }

    /** --executors runs the check where the tasks run (here the local-mode driver JVM) and prints one row per executor. */
    @Test
    void checksEveryExecutor() {
        SparkTestSession.get();
        Run r = ModelCommandTest.bit("doctor", "--executors");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("executors (1):") && r.out().contains("driver") && r.out().contains("ok: cpu ("), r.out());
    }

    /** --data: each executor decodes the data set's first training rows; the digest must be the driver's. */
    @Test
    void executorsDecodeTheDataAsTheDriver(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        java.nio.file.Path in = tmp.resolve("images");
        for (int c = 0; c < 2; c++) {
            java.nio.file.Path d = java.nio.file.Files.createDirectories(in.resolve("class" + c));
            for (int i = 0; i < 6; i++) {
                java.nio.file.Files.write(d.resolve(i + ".jpg"), io.bitspark.data.TestImages.jpeg(100L * c + i, 40, 30));
            }
        }
        java.nio.file.Path ds = tmp.resolve("ds");
        new io.bitspark.data.prepare.PrepareJob(SparkTestSession.get(), new io.bitspark.data.prepare.PrepareConfig(in.toString(),
                io.bitspark.data.prepare.InputFormat.IMAGEFOLDER, ds.toString(), new io.bitspark.data.image.ImageProcessor.Config(32, 90,
                1 << 20, 1 << 22, 8), 1 << 20, 0, 1L, null, null, java.util.List.of(), 4, 0)).run();
        Run r = ModelCommandTest.bit("doctor", "--executors", "--data", ds.toString(), "--resolution", "32");
        assertEquals(0, r.code(), r.err());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("digest ([0-9a-f]{16}) in this JVM").matcher(r.out());
        assertTrue(m.find(), r.out());
        assertTrue(r.out().contains(" " + m.group(1) + " ") && r.out().contains("ok: cpu ("), r.out());
        // The same rows at another resolution are other pixels.
        Run other = ModelCommandTest.bit("doctor", "--executors", "--data", ds.toString(), "--resolution", "24");
        assertEquals(0, other.code(), other.err());
        assertTrue(!other.out().contains(m.group(1)), other.out());

        assertEquals(2, ModelCommandTest.bit("doctor", "--data", ds.toString()).code(), "--data without --executors");
        Run missing = ModelCommandTest.bit("doctor", "--executors", "--data", tmp.resolve("none").toString());
        assertTrue(missing.code() != 0 && missing.err().contains("--data: ") && missing.err().contains("bit prepare"), missing.err());
    }

    /** An executor that read other pixels, or none, is a problem that says which. */
    @Test
    void anExecutorWithOtherInputIsAProblem() {
        io.bitspark.jobs.ExecutorChecks.Row row = new io.bitspark.jobs.ExecutorChecks.Row("3", "node7", "CPU", 8, "8", "-", "cpu", "-",
                "00aa00aa00aa00aa", null);
        assertEquals(null, io.bitspark.jobs.ExecutorChecks.compared(row, "00aa00aa00aa00aa").problem());
        assertEquals(null, io.bitspark.jobs.ExecutorChecks.compared(row, null).problem());
        String p = io.bitspark.jobs.ExecutorChecks.compared(row, "11bb11bb11bb11bb").problem();
        assertTrue(p.contains("differently from the driver") && p.contains("00aa00aa00aa00aa") && p.contains("11bb11bb11bb11bb"), p);
        io.bitspark.jobs.ExecutorChecks.Row failed = new io.bitspark.jobs.ExecutorChecks.Row("3", "node7", "CPU", 8, "8", "-", "cpu", "-",
                "FAILED: s3a://b/train-0.parquet: Access Denied", null);
        p = io.bitspark.jobs.ExecutorChecks.compared(failed, "11bb11bb11bb11bb").problem();
        assertTrue(p.contains("cannot read the training data: s3a://b/train-0.parquet: Access Denied"), p);
        assertTrue(io.bitspark.jobs.ExecutorChecks.table(java.util.List.of(failed)).contains("FAILED"));
    }

    @Test
    void warnsAboutSettingsThatBreakTraining() {
        org.apache.spark.SparkConf c = new org.apache.spark.SparkConf(false).set("spark.dynamicAllocation.enabled", "true")
                .set("spark.executor.cores", "8").set("spark.task.cpus", "1").set("spark.executor.resource.gpu.amount", "1");
        String w = String.join("\n", DoctorCommand.advice(c));
        assertTrue(w.contains("dynamicAllocation") && w.contains("one task slot") && w.contains("spark.task.resource.gpu.amount")
                && w.contains("discoveryScript"), w);
    }
}
