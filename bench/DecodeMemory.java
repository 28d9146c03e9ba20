// Per-image time and whether a given heap suffices for prepare's per-image work (ImageProcessor) on the images of a folder,
// three passes. Usage: java -Xmx64m -cp spark-jobs/target/bit-jobs.jar bench/DecodeMemory.java DIR
import io.bitspark.data.image.*;
import java.lang.management.*;
public class DecodeMemory { public static void main(String[] a) throws Exception {
  ImageProcessor.Config c = new ImageProcessor.Config(512, 90, 64L<<20, 89_478_485L, 8);
  for (int i = 0; i < 3; i++) {
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) p.resetPeakUsage();
    ProcessorBenchmark.Result r = ProcessorBenchmark.run(java.nio.file.Path.of(a[0]), c, 1);
    long peak = 0; for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) if (p.getType() == MemoryType.HEAP) peak += p.getPeakUsage().getUsed();
    System.out.printf("%d images, %d ok, %.3f s (%.3f s/image), heap peak %d MB%n", r.images(), r.ok(), r.seconds(), r.seconds()/r.images(), peak >> 20);
  }
}}
