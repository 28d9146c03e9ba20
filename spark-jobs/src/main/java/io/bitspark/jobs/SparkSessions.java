package io.bitspark.jobs;

import org.apache.spark.sql.SparkSession;

/**
 * The Spark session of a job. The master and every other setting come from spark-submit or from bin/bit's
 * {@code -Dspark.*} properties; a job never sets the master itself.
 */
public final class SparkSessions {

    private SparkSessions() {}

    public static SparkSession get(String appName) {
        SparkSession.Builder b = SparkSession.builder().appName(appName);
        // Executors: ND4J's OpenMP threads must not spin between ops (see bin/bit); users may override.
        if (System.getProperty("spark.executorEnv.OMP_WAIT_POLICY") == null) {
            b.config("spark.executorEnv.OMP_WAIT_POLICY", "PASSIVE");
        }
        return b.getOrCreate();
    }
}
