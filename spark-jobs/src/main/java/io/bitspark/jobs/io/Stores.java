package io.bitspark.jobs.io;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;

import org.apache.hadoop.conf.Configuration;

import io.bitspark.model.checkpoint.ArtifactStore;
import io.bitspark.model.checkpoint.LocalStore;

/**
 * Opens artifact locations given as a local path, {@code file://}, or any Hadoop URI ({@code hdfs://},
 * {@code s3a://}). Hadoop settings come from the usual {@code core-site.xml} and from
 * {@code spark.hadoop.*} system properties (as spark-submit's {@code --conf spark.hadoop.fs.s3a...});
 * s3a credentials come from those properties or the standard AWS environment variables.
 */
public final class Stores {

    private Stores() {}

    /** A store and a name inside it: a file or directory URI split at its last path segment. */
    public record Location(ArtifactStore store, String name) {
        public String uri() {
            return store.uri(name);
        }
    }

    public static boolean isLocal(String uri) {
        String scheme = scheme(uri);
        return scheme == null || scheme.equals("file");
    }

    /** A store rooted at directory {@code uri}. */
    public static ArtifactStore directory(String uri) throws IOException {
        return isLocal(uri) ? new LocalStore(localPath(uri)) : directory(uri, hadoopConfiguration());
    }

    /** A store rooted at directory {@code uri}, with the given Hadoop settings (on executors: the driver's). */
    public static ArtifactStore directory(String uri, Configuration conf) throws IOException {
        if (isLocal(uri)) {
            return new LocalStore(localPath(uri));
        }
        try {
            return new HadoopStore(new URI(uri.endsWith("/") ? uri : uri + "/"), conf);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("malformed URI '" + uri + "': " + e.getMessage());
        }
    }

    /** The parent directory of {@code uri} as a store, and the last segment as the name. */
    public static Location locate(String uri) throws IOException {
        String trimmed = uri.endsWith("/") ? uri.substring(0, uri.length() - 1) : uri;
        if (isLocal(trimmed)) {
            Path p = localPath(trimmed).toAbsolutePath().normalize();
            Path parent = p.getParent() == null ? p : p.getParent();
            return new Location(new LocalStore(parent), p.getFileName() == null ? "" : p.getFileName().toString());
        }
        int slash = trimmed.lastIndexOf('/');
        if (slash < 0 || slash < trimmed.indexOf("://") + 3) {
            throw new IllegalArgumentException("URI '" + uri + "' names no file or directory inside a bucket or file system");
        }
        return new Location(directory(trimmed.substring(0, slash)), trimmed.substring(slash + 1));
    }

    public static Configuration hadoopConfiguration() {
        Configuration conf = new Configuration();
        for (Map.Entry<Object, Object> e : System.getProperties().entrySet()) {
            String k = e.getKey().toString();
            if (k.startsWith("spark.hadoop.")) {
                conf.set(k.substring("spark.hadoop.".length()), e.getValue().toString());
            }
        }
        return conf;
    }

    private static String scheme(String uri) {
        int i = uri.indexOf("://");
        if (i <= 0) {
            return uri.startsWith("file:") ? "file" : null;
        }
        return uri.substring(0, i);
    }

    private static Path localPath(String uri) {
        if (uri.startsWith("file:")) {
            return Path.of(URI.create(uri));
        }
        return Path.of(uri);
    }
}
