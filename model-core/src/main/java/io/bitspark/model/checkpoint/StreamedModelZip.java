package io.bitspark.model.checkpoint;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import io.bitspark.model.layers.NativeMemory;

/**
 * Writes a DL4J model file (the zip {@link ModelSerializer} writes and restores: configuration, parameters and
 * updater state) whose updater state is streamed in pieces instead of held as one array. Distributed training
 * keeps the momentum sharded over the workers: the writer takes the slices one after another, so the process
 * writing a checkpoint never holds the whole momentum (3.7 GB for BiT-R152x4). The state entry is byte for
 * byte what {@code Nd4j.write} writes for a {@code [length]} float array (the shape of DL4J's updater state).
 */
public final class StreamedModelZip {

    private static final sun.misc.Unsafe UNSAFE = NativeMemory.unsafe();
    private static final int CHUNK = 1 << 16;

    private StreamedModelZip() {}

    /** Receives the state's floats in order, as runs of native memory. */
    public interface FloatSink {
        void put(long address, long count) throws IOException;
    }

    /** Produces the state's floats in order into a sink. */
    public interface FloatSource {
        void writeTo(FloatSink sink) throws IOException;
    }

    public static void write(OutputStream stream, ComputationGraph net, long stateLength, FloatSource state) throws IOException {
        ZipOutputStream zip = new ZipOutputStream(new FilterOutputStream(stream) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                flush(); // the caller owns the stream
            }
        });
        zip.putNextEntry(new ZipEntry(ModelSerializer.CONFIGURATION_JSON));
        zip.write(net.getConfiguration().toJson().getBytes(StandardCharsets.UTF_8));
        zip.putNextEntry(new ZipEntry(ModelSerializer.COEFFICIENTS_BIN));
        DataOutputStream dos = new DataOutputStream(new BufferedOutputStream(zip, 1 << 20));
        // The parameters in Nd4j.write's format, streamed from their buffer (Nd4j.write itself copies the whole
        // array first: 3.7 GB more for BiT-R152x4).
        INDArray params = net.params();
        if (params.dataType() != DataType.FLOAT || params.offset() != 0 || params.length() != params.data().length()) {
            Nd4j.write(params, dos);
        } else {
            params.shapeInfoDataBuffer().write(dos);
            long address = NativeMemory.address(params.reshape(params.length()));
            writeFloats(dos, params.data().allocationMode(), params.length(), sink -> sink.put(address, params.length()), "parameters");
        }
        dos.flush();
        zip.putNextEntry(new ZipEntry(ModelSerializer.UPDATER_BIN));
        DataBuffer shape = Nd4j.getShapeInfoProvider().createShapeInformation(new long[] {stateLength}, 'c', DataType.FLOAT).getFirst();
        shape.write(dos);
        writeFloats(dos, params.data().allocationMode(), stateLength, state, "updater state");
        dos.flush();
        zip.closeEntry();
        zip.finish();
        zip.flush();
    }

    /** A float data buffer in DataBuffer.write's format (header, then big-endian floats), streamed from {@code source}. */
    private static void writeFloats(DataOutputStream dos, DataBuffer.AllocationMode mode, long length, FloatSource source, String what)
            throws IOException {
        dos.writeUTF(mode.name());
        dos.writeLong(length);
        dos.writeUTF(DataType.FLOAT.name());
        long[] written = {0};
        byte[] bytes = new byte[4 * CHUNK];
        float[] floats = new float[CHUNK];
        ByteBuffer big = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN);
        source.writeTo((address, count) -> {
            for (long done = 0; done < count; ) {
                int n = (int) Math.min(CHUNK, count - done);
                UNSAFE.copyMemory(null, address + 4 * done, floats, sun.misc.Unsafe.ARRAY_FLOAT_BASE_OFFSET, 4L * n);
                big.clear();
                big.asFloatBuffer().put(floats, 0, n);
                dos.write(bytes, 0, 4 * n);
                done += n;
            }
            written[0] += count;
        });
        if (written[0] != length) {
            throw new IOException(what + ": " + written[0] + " values written, " + length + " expected");
        }
    }
}
