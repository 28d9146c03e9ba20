package io.bitspark.jobs.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.hadoop.conf.Configuration;
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
        return new BufferedOutputStream(fs.create(resolve(path), true), 1 << 16);
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
