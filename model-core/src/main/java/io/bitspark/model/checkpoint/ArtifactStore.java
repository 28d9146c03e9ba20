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

    /** Renames a file or directory; fails when the target exists or the store refuses (the paths are named). */
    void rename(String from, String to) throws IOException;

    /**
     * Creates a file only when it does not exist yet, else throws {@link java.nio.file.FileAlreadyExistsException}.
     * Atomic where the file system is (local disks, HDFS); on object stores a check followed by a write.
     */
    OutputStream createNew(String path) throws IOException;

    /** True when {@link #createNew} is atomic: two writers racing for one path cannot both succeed. */
    default boolean atomicCreate() {
        return true;
    }

    /**
     * An open file that grows by appends and is made durable on {@link Appender#sync()}, or null when the store
     * cannot append (object stores: callers write new files instead).
     */
    default Appender appender(String path) throws IOException {
        return null;
    }

    /** A file open for appending. */
    interface Appender extends java.io.Closeable {
        void write(byte[] bytes) throws IOException;

        /** Makes everything written so far durable (fsync, HDFS hsync). */
        void sync() throws IOException;
    }

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
