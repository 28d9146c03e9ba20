package io.bitspark.model.checkpoint;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * A directory-like location for artifacts (checkpoints, exports, run outputs): the local disk, HDFS or an
 * object store. Paths are relative to the store's root and use '/'. Implementations for Hadoop file
 * systems live with the Spark jobs; {@link LocalStore} is the local one.
 */
public interface ArtifactStore {

    /** Creates (or replaces) a file and its parent directories. */
    OutputStream create(String path) throws IOException;

    InputStream open(String path) throws IOException;

    boolean exists(String path) throws IOException;

    /** Size in bytes of a file. */
    long size(String path) throws IOException;

    /** Names of the direct children of a directory (empty if it does not exist). */
    List<String> list(String dir) throws IOException;

    /** Deletes a file or a directory tree; no error if absent. */
    void delete(String path) throws IOException;

    /** Full URI of a path, for messages and provenance. */
    String uri(String path);

    /** A local file with the content of {@code path}: the file itself where the store is local, else a temp copy. */
    default LocalFile localFile(String path) throws IOException {
        Path tmp = Files.createTempFile("bit-", "-" + path.replaceAll(".*/", ""));
        try (InputStream in = open(path)) {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        }
        return new LocalFile(tmp, true);
    }

    /** A local file that is deleted on close when it was a temporary copy. */
    record LocalFile(Path path, boolean temporary) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            if (temporary) {
                Files.deleteIfExists(path);
            }
        }
    }
}
