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

    @Test
    void warnsAboutSettingsThatBreakTraining() {
        org.apache.spark.SparkConf c = new org.apache.spark.SparkConf(false).set("spark.dynamicAllocation.enabled", "true")
                .set("spark.executor.cores", "8").set("spark.task.cpus", "1").set("spark.executor.resource.gpu.amount", "1");
        String w = String.join("\n", DoctorCommand.advice(c));
        assertTrue(w.contains("dynamicAllocation") && w.contains("one task slot") && w.contains("spark.task.resource.gpu.amount")
                && w.contains("discoveryScript"), w);
    }
}
