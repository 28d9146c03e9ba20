package io.bitspark.model.checkpoint;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import io.bitspark.model.arch.ModelOptions;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Spec;
import io.bitspark.model.io.Npz;

/**
 * Deterministic weights shared with {@code golden/bit_reference.py} ({@code formula_values}), so that large
 * reference checkpoints are regenerated instead of stored: value i of key k is
 * {@code x = fmix32((crc32(k) + i * 2654435761) mod 2^32) / 2^32 - 0.5} (fmix32: murmur3's finalizer), scaled per kind, rounded to float32.
 */
public final class FormulaWeights {

    private FormulaWeights() {}

    public static INDArray values(String key, long... shape) {
        CRC32 crc = new CRC32();
        crc.update(key.getBytes(StandardCharsets.UTF_8));
        long seed = crc.getValue();
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            long u = fmix32((seed + i * 2654435761L) & 0xFFFFFFFFL);
            double x = u / 4294967296.0 - 0.5;
            if (key.endsWith("/gamma")) {
                x = 1.0 + 0.4 * x;
            } else if (key.endsWith("/beta")) {
                x = 0.4 * x;
            } else if (key.startsWith("resnet/head/")) {
                x = 0.2 * x;
            }
            v[i] = (float) x;
        }
        return Nd4j.createFromArray(v).reshape('c', shape);
    }

    /** murmur3's 32-bit finalizer on an unsigned 32-bit value held in a long. */
    static long fmix32(long h) {
        h ^= h >>> 16;
        h = (h * 0x85EBCA6BL) & 0xFFFFFFFFL;
        h ^= h >>> 13;
        h = (h * 0xC2B2AE35L) & 0xFFFFFFFFL;
        h ^= h >>> 16;
        return h;
    }

    /** All checkpoint arrays of {@code spec} in the official layout. */
    public static Map<String, INDArray> checkpoint(ResNetV2Spec spec) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        BitCheckpointLayout.expectedShapes(ResNetV2Builder.configuration(spec, ModelOptions.defaults()))
                .forEach((k, shape) -> out.put(k, values(k, shape)));
        return out;
    }

    /** Writes {@link #checkpoint} as an official-layout {@code .npz}. */
    public static Path write(ResNetV2Spec spec, Path file) throws java.io.IOException {
        Npz.write(file, checkpoint(spec));
        return file;
    }

    /** The reference scripts' formula input: {@code values("input", shape) * 2}, in [-1, 1). */
    public static INDArray input(long... shape) {
        return values("input", shape).muli(2).castTo(DataType.FLOAT);
    }
}
