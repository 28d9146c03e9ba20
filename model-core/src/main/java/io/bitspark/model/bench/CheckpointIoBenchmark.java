package io.bitspark.model.bench;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.random.impl.UniformDistribution;
import org.nd4j.linalg.factory.Nd4j;

import io.bitspark.model.arch.ModelOptions;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Spec;
import io.bitspark.model.checkpoint.BitNpz;

/**
 * Time and memory of writing and reading an official-layout {@code .npz} of a large network. Each phase is
 * meant to run in its own process, so that peak resident memory is the phase's own: write builds the
 * network (one copy of the weights, off-heap) and streams it out; read streams a file into a new network.
 */
public final class CheckpointIoBenchmark {

    /** Seconds, bytes on disk, peak resident memory and peak Java heap of one phase. */
    public record Result(String phase, long parameters, double seconds, long fileBytes, long peakRssBytes, long peakHeapBytes) {}

    private CheckpointIoBenchmark() {}

    public static Result write(ResNetV2Spec spec, Path file, long seed) throws IOException {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        ComputationGraphConfiguration conf = ResNetV2Builder.configuration(spec, ModelOptions.defaults());
        long n = ResNetV2Builder.parameterCounts(conf).values().stream().mapToLong(Long::longValue).sum();
        INDArray params = Nd4j.createUninitialized(DataType.FLOAT, 1, n);
        Nd4j.getRandom().setSeed(seed);
        Nd4j.getExecutioner().exec(new UniformDistribution(params, -0.5, 0.5));
        ComputationGraph net = new ComputationGraph(conf);
        net.init(params, false);
        long t0 = System.nanoTime();
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            BitNpz.write(net, out);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        return new Result("export", n, s, Files.size(file), TrainStepBenchmark.peakRss(), peakHeap());
    }

    public static Result read(Path file) throws IOException {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        long t0 = System.nanoTime();
        BitNpz.Imported imp = BitNpz.load(file, BitNpz.ImportOptions.defaults());
        double s = (System.nanoTime() - t0) / 1e9;
        return new Result("import", imp.net().numParams(), s, Files.size(file), TrainStepBenchmark.peakRss(), peakHeap());
    }

    static long peakHeap() {
        long sum = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.getPeakUsage() != null) {
                sum += pool.getPeakUsage().getUsed();
            }
        }
        return sum;
    }
}
