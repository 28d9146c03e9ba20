package io.bitspark.jobs.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import java.nio.file.FileAlreadyExistsException;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.CommonPathCapabilities;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.StreamCapabilities;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import io.bitspark.model.checkpoint.ArtifactStore;

/** An {@link ArtifactStore} on any Hadoop file system (hdfs://, s3a://, ...), rooted at a directory URI. */
public final class HadoopStore implements ArtifactStore {

    private final FileSystem fs;
    private final Path root;

    public HadoopStore(URI root, Configuration conf) throws IOException {
        this.fs = FileSystem.get(root, conf);
        this.root = new Path(root);
    }

    private Path resolve(String path) {
        if (path.isEmpty()) {
            return root;
        }
        if (path.startsWith("/") || Arrays.asList(path.split("/")).contains("..")) {
            throw new IllegalArgumentException("path escapes the store root " + root + ": " + path);
        }
        return new Path(root, path);
    }

    @Override
    public OutputStream create(String path) throws IOException {
        return durable(fs.create(resolve(path), true));
    }

    @Override
    public OutputStream createNew(String path) throws IOException {
        return durable(fs.create(resolve(path), false));
    }

    /** On HDFS, closing hsyncs first (the blocks reach the datanodes' disks); object stores publish on close. */
    private static OutputStream durable(FSDataOutputStream raw) {
        return new io.bitspark.model.checkpoint.DurableOutputStream(raw, () -> {
            if (raw.hasCapability(StreamCapabilities.HSYNC)) {
                raw.hsync();
            }
        }, raw, () -> { });
    }

    /** Object stores (s3a, gs, abfs without hierarchical namespace) check and then write: two racing creators can both win. */
    @Override
    public boolean atomicCreate() {
        String scheme = fs.getScheme();
        return !(scheme.startsWith("s3") || scheme.equals("gs") || scheme.equals("oss") || scheme.equals("cos"));
    }

    @Override
    public void rename(String from, String to) throws IOException {
        Path a = resolve(from);
        Path b = resolve(to);
        if (fs.exists(b)) {
            throw new FileAlreadyExistsException(b + " exists: cannot rename " + a + " to it");
        }
        if (!fs.rename(a, b)) {
            throw new IOException("the file system refused to rename " + a + " to " + b);
        }
    }

    @Override
    public Appender appender(String path) throws IOException {
        Path p = resolve(path);
        if (!fs.hasPathCapability(root, CommonPathCapabilities.FS_APPEND)) {
            return null;
        }
        FSDataOutputStream out = fs.exists(p) ? fs.append(p) : fs.create(p, false);
        return new Appender() {
            @Override
            public void write(byte[] bytes) throws IOException {
                out.write(bytes);
                out.hflush();
            }

            @Override
            public void sync() throws IOException {
                if (out.hasCapability(StreamCapabilities.HSYNC)) {
                    out.hsync();
                } else {
                    out.hflush();
                }
            }

            @Override
            public void close() throws IOException {
                try {
                    sync();
                } finally {
                    out.close();
                }
            }
        };
    }

    @Override
    public InputStream open(String path) throws IOException {
        return fs.open(resolve(path), 1 << 16);
    }

    @Override
    public boolean exists(String path) throws IOException {
        return fs.exists(resolve(path));
    }

    @Override
    public long size(String path) throws IOException {
        return fs.getFileStatus(resolve(path)).getLen();
    }

    @Override
    public List<String> list(String dir) throws IOException {
        Path p = resolve(dir);
        List<String> out = new ArrayList<>();
        if (!fs.exists(p)) {
            return out;
        }
        for (FileStatus s : fs.listStatus(p)) {
            out.add(s.getPath().getName());
        }
        out.sort(String::compareTo);
        return out;
    }

    @Override
    public void delete(String path) throws IOException {
        fs.delete(resolve(path), true);
    }

    @Override
    public String uri(String path) {
        return resolve(path).toString();
    }
}
