package io.bitspark.jobs;

import org.apache.spark.sql.SparkSession;

/**
 * The Spark session of a job. The master and every other setting come from spark-submit or from bin/bit's
 * {@code -Dspark.*} properties; a job never sets the master itself.
 */
public final class SparkSessions {

    private SparkSessions() {}

    public static SparkSession get(String appName) {
        return SparkSession.builder().appName(appName).getOrCreate();
    }
}
