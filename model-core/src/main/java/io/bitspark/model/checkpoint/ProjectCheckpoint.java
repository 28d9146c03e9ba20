package io.bitspark.model.checkpoint;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;

/**
 * The project's own checkpoint, for resuming and for transfer: a directory holding {@code model.zip}
 * (DL4J ModelSerializer: configuration, parameters and updater state) and {@code provenance.json}.
 * The provenance is written last and records the size and SHA-256 of {@code model.zip}, so a checkpoint
 * whose writer died midway has no provenance or a mismatching file and is never mistaken for a good one;
 * this holds on object stores, where renames are not atomic. After writing, the writer reads the model file back
 * and, when its bytes match, adds {@code verified.json}: a checkpoint carrying it was sound when written, so pruning
 * can rely on it without re-reading gigabytes.
 */
public final class ProjectCheckpoint {

    public static final String MODEL = "model.zip";
    public static final String PROVENANCE = "provenance.json";
    public static final String VERIFIED = "verified.json";

    private ProjectCheckpoint() {}

    /** A loaded checkpoint. */
    public record Loaded(ComputationGraph net, Provenance provenance) {}

    /**
     * Writes a checkpoint into directory {@code dir} of {@code store}; returns the provenance as written. A float32
     * network with its updater state is streamed from its buffers ({@link StreamedModelZip}: the bytes of
     * {@code ModelSerializer}, which first copies the parameters and the state); anything else goes through
     * {@code ModelSerializer}.
     */
    public static Provenance write(ArtifactStore store, String dir, ComputationGraph net, Provenance provenance,
                                   boolean saveUpdater) throws IOException {
        org.nd4j.linalg.api.ndarray.INDArray state = saveUpdater && net.getUpdater(false) != null
                ? net.getUpdater(false).getStateViewArray() : null;
        if (state != null && state.dataType() == org.nd4j.linalg.api.buffer.DataType.FLOAT
                && net.params().dataType() == org.nd4j.linalg.api.buffer.DataType.FLOAT
                && state.length() == net.numParams() && state.rank() <= 2 && state.length() == state.data().length() && state.offset() == 0) {
            long address = io.bitspark.model.layers.NativeMemory.address(state.reshape(state.length()));
            return write(store, dir, out -> StreamedModelZip.write(out, net, state.length(), sink -> sink.put(address, state.length())),
                    provenance);
        }
        return write(store, dir, out -> ModelSerializer.writeModel(net, out, saveUpdater), provenance);
    }

    /** Writes the model file's bytes. */
    public interface ModelWriter {
        void write(OutputStream out) throws IOException;
    }

    /** Writes a checkpoint whose model file {@code model} writes (for example with {@link StreamedModelZip}). */
    public static Provenance write(ArtifactStore store, String dir, ModelWriter model, Provenance provenance) throws IOException {
        store.delete(child(dir, PROVENANCE));
        MessageDigest sha = sha256();
        long bytes;
        try (CountingOutputStream count = new CountingOutputStream(store.create(child(dir, MODEL)));
             DigestOutputStream out = new DigestOutputStream(count, sha)) {
            model.write(out);
            out.flush();
            bytes = count.count;
        }
        String digest = hex(sha);
        Provenance p = provenance.withFiles(Map.of(MODEL, new Provenance.FileDigest(bytes, digest)));
        store.delete(child(dir, VERIFIED));
        try (OutputStream out = store.create(child(dir, PROVENANCE))) {
            p.write(out);
        }
        verify(store, dir);
        try (OutputStream out = store.create(child(dir, VERIFIED))) {
            out.write(("{\"sha256\": \"" + digest + "\"}\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        return p;
    }

    /**
     * Reads the whole model file and checks its size and SHA-256 against the provenance; returns the provenance.
     * Throws {@link CheckpointException} naming the file and both digests when they differ.
     */
    public static Provenance verify(ArtifactStore store, String dir) throws IOException {
        Provenance p = readProvenance(store, dir);
        Provenance.FileDigest want = recorded(store, dir, p);
        if (!store.exists(child(dir, MODEL))) {
            throw new CheckpointException(store.uri(child(dir, MODEL)) + ": missing");
        }
        MessageDigest sha = sha256();
        long bytes = 0;
        byte[] buf = new byte[1 << 20];
        try (InputStream in = store.open(child(dir, MODEL))) {
            for (int n; (n = in.read(buf)) > 0; ) {
                sha.update(buf, 0, n);
                bytes += n;
            }
        }
        check(store, dir, want, bytes, hex(sha));
        return p;
    }

    /** The size and SHA-256 the provenance records for the model file. */
    private static Provenance.FileDigest recorded(ArtifactStore store, String dir, Provenance p) throws CheckpointException {
        Provenance.FileDigest want = p.files() == null ? null : p.files().get(MODEL);
        if (want == null) {
            throw new CheckpointException(store.uri(dir) + ": provenance lists no " + MODEL);
        }
        return want;
    }

    /** Fails naming the file and both digests when what was read differs from what the provenance records. */
    private static void check(ArtifactStore store, String dir, Provenance.FileDigest want, long bytes, String digest)
            throws CheckpointException {
        if (bytes != want.bytes() || !digest.equals(want.sha256())) {
            throw new CheckpointException(store.uri(child(dir, MODEL)) + ": corrupt (" + bytes + " bytes, sha256 " + digest
                    + "; provenance says " + want.bytes() + " bytes, sha256 " + want.sha256() + ")");
        }
    }

    /** True when the writer (or a resume) read the model file back and found it sound: {@code verified.json} matches. */
    public static boolean isVerified(ArtifactStore store, String dir) {
        try {
            if (!store.exists(child(dir, VERIFIED)) || !isComplete(store, dir)) {
                return false;
            }
            String marker;
            try (InputStream in = store.open(child(dir, VERIFIED))) {
                marker = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            }
            Provenance.FileDigest d = readProvenance(store, dir).files().get(MODEL);
            return marker.contains("\"" + d.sha256() + "\"");
        } catch (IOException e) {
            return false;
        }
    }

    /** Records that {@code dir} was verified in full (after {@link #verify} passed on a checkpoint written without the mark). */
    public static void markVerified(ArtifactStore store, String dir) throws IOException {
        Provenance.FileDigest d = readProvenance(store, dir).files().get(MODEL);
        try (OutputStream out = store.create(child(dir, VERIFIED))) {
            out.write(("{\"sha256\": \"" + d.sha256() + "\"}\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    /** True when the directory holds provenance and a model file of the recorded size (cheap; no checksum). */
    public static boolean isComplete(ArtifactStore store, String dir) {
        try {
            if (!store.exists(child(dir, PROVENANCE))) {
                return false;
            }
            Provenance p = readProvenance(store, dir);
            Provenance.FileDigest d = p.files() == null ? null : p.files().get(MODEL);
            return d != null && store.exists(child(dir, MODEL)) && store.size(child(dir, MODEL)) == d.bytes();
        } catch (IOException e) {
            return false;
        }
    }

    public static Provenance readProvenance(ArtifactStore store, String dir) throws IOException {
        String path = child(dir, PROVENANCE);
        if (!store.exists(path)) {
            throw new CheckpointException(store.uri(dir) + ": not a complete checkpoint (no " + PROVENANCE + ")");
        }
        try (InputStream in = store.open(path)) {
            return Provenance.read(in, store.uri(path));
        }
    }

    /** Loads a checkpoint, verifying the model file's size and SHA-256 against the provenance. */
    public static Loaded read(ArtifactStore store, String dir, boolean loadUpdater) throws IOException {
        Provenance p = readProvenance(store, dir);
        Provenance.FileDigest want = recorded(store, dir, p);
        Path tmp = Files.createTempFile("bit-checkpoint-", ".zip");
        try {
            MessageDigest sha = sha256();
            try (InputStream in = new DigestInputStream(store.open(child(dir, MODEL)), sha)) {
                Files.copy(in, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            check(store, dir, want, Files.size(tmp), hex(sha));
            ComputationGraph net = ModelSerializer.restoreComputationGraph(tmp.toFile(), loadUpdater);
            io.bitspark.model.layers.StandardizedKernels.AUTO.applyTo(net);
            return new Loaded(net, p);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    static String child(String dir, String name) {
        return dir.isEmpty() ? name : dir.endsWith("/") ? dir + name : dir + "/" + name;
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String hex(MessageDigest d) {
        return HexFormat.of().formatHex(d.digest());
    }

    private static final class CountingOutputStream extends java.io.FilterOutputStream {
        long count;

        CountingOutputStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }
    }
}
