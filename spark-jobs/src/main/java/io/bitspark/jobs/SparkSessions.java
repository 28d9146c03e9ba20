package io.bitspark.jobs;

import org.apache.spark.sql.SparkSession;

import io.bitspark.model.runtime.NativeEnvironment;

/**
 * The Spark session of a job. The master and every other setting come from spark-submit or from bin/bit's
 * {@code -Dspark.*} properties; a job never sets the master itself.
 */
public final class SparkSessions {

    private SparkSessions() {}

    public static SparkSession get(String appName) {
        SparkSession.Builder b = SparkSession.builder().appName(appName);
        // Executors start with the native environment bin/bit gives the driver (OpenMP threads that do not
        // spin, one malloc arena that keeps oneDNN's buffers mapped); users may override any of them.
        NativeEnvironment.RECOMMENDED.forEach((k, v) -> {
            if (System.getProperty("spark.executorEnv." + k) == null) {
                b.config("spark.executorEnv." + k, v);
            }
        });
        // One OpenMP (and kernel) thread per core of a task slot: executors that run several tasks at once
        // would otherwise start cores x tasks threads.
        if (System.getProperty("spark.executorEnv.OMP_NUM_THREADS") == null) {
            b.config("spark.executorEnv.OMP_NUM_THREADS", System.getProperty("spark.task.cpus", "1"));
        }
        NativeEnvironment.warnIfMissing();
        return b.getOrCreate();
    }
}
