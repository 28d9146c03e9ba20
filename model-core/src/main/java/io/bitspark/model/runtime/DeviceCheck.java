package io.bitspark.model.runtime;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.nd4j.linalg.factory.Nd4j;

import io.bitspark.build.BuildInfo;

/**
 * What this JVM can train on: the ND4J backend and its version, the devices (for the CUDA build: name, memory,
 * compute capability and whether the build runs natively on it), the CUDA driver, runtime and cuDNN versions, the
 * native environment variables and threads. For the CUDA build the CUDA libraries are probed directly (through
 * JavaCPP, before ND4J starts), so a node without a usable GPU gets a one-line reason (no driver, no runtime, no
 * device, a driver older than the runtime, a compute capability without kernels) instead of a stack trace deep in
 * a training step.
 */
public final class DeviceCheck {

    /** CUDA version the CUDA build (ND4J 1.0.0-M2.1, nd4j-cuda-11.6) is compiled against. */
    public static final String CUDA_BUILD = "11.6";
    public static final String CUDNN_BUILD = "8.3";
    /**
     * Compute capabilities libnd4j's CUDA 11.6 build carries kernels (SASS) for, and no PTX (bench/fatbin_archs.py on
     * libnd4jcuda.so of nd4j-cuda-11.6-1.0.0-M2.1-linux-x86_64-cudnn.jar): sm_37, 50, 52, 60, 61, 70, 75, 80, 86. A
     * cubin runs on GPUs of the same major version and an equal or higher minor one, so 3.7 and every 5.x, 6.x, 7.x
     * and 8.x (8.7, Ada's 8.9) GPU runs; Hopper (9.0) and later cannot, as there is no PTX to compile for them.
     */
    static final int[] SASS = {37, 50, 52, 60, 61, 70, 75, 80, 86};

    /** True when this build has kernels for a GPU of compute capability {@code major.minor}. */
    public static boolean supported(int major, int minor) {
        for (int a : SASS) {
            if (a / 10 == major && a % 10 <= minor) {
                return true;
            }
        }
        return false;
    }

    /** One GPU. */
    public record Gpu(int index, String name, long memoryBytes, int major, int minor, boolean nativeSupport) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "gpu %d: %s, %.1f GB, compute capability %d.%d, %s", index, name, memoryBytes / 1e9, major,
                    minor, nativeSupport ? "kernels in this build" : "NO kernels in this build (it carries sm_37 to sm_86 and no PTX)");
        }
    }

    /** The findings; {@code problem} is null when this JVM can train. */
    public record Report(String backend, String nd4jVersion, boolean cudaBuild, int cores, String ompThreads, String blas,
                         List<Gpu> gpus, String cudaDriver, String cudaRuntime, String cudnn, Map<String, String> environment,
                         String problem) {}

    private static volatile Report cached;

    private DeviceCheck() {}

    /** True when the CUDA backend is on the class path (the {@code cuda} Maven profiles). */
    public static boolean cudaBuild() {
        try {
            Class.forName("org.nd4j.linalg.jcublas.JCublasBackend", false, DeviceCheck.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** The report of this JVM (computed once). Never throws. */
    public static Report inspect() {
        Report r = cached;
        if (r == null) {
            r = compute();
            cached = r;
        }
        return r;
    }

    /** Fails with {@link UnusableDeviceException} (a one-line message) when this JVM cannot train. */
    public static void require() {
        Report r = inspect();
        if (r.problem() != null) {
            throw new UnusableDeviceException(r.problem());
        }
    }

    /** The reason a node cannot train, in one line. */
    public static final class UnusableDeviceException extends IllegalStateException {
        public UnusableDeviceException(String message) {
            super(message);
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this; // the message is the whole story
        }
    }

    static final String[] ENV = {"OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MALLOC_ARENA_MAX", "CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH",
            "ND4J_CUDA_FORCE_SINGLE_GPU", "SPARK_LOCAL_IP"};

    private static Report compute() {
        Map<String, String> env = new LinkedHashMap<>();
        for (String k : ENV) {
            env.put(k, System.getenv(k) == null ? "(unset)" : System.getenv(k));
        }
        env.put("org.bytedeco.javacpp.cachedir", System.getProperty("org.bytedeco.javacpp.cachedir", "(default)"));
        String version = BuildInfo.libraries().getOrDefault("deeplearning4j", "unknown");
        int cores = Runtime.getRuntime().availableProcessors();
        boolean cuda = cudaBuild();
        List<Gpu> gpus = new ArrayList<>();
        String[] versions = {null, null, null};
        String problem = null;
        if (cuda) {
            problem = probeCuda(gpus, versions);
        }
        String backend = "unknown";
        String omp = "?";
        String blas = "?";
        if (problem == null) {
            try {
                backend = Nd4j.getBackend().getClass().getSimpleName();
                Properties p = Nd4j.getExecutioner().getEnvironmentInformation();
                backend = String.valueOf(p.getOrDefault("backend", backend));
                omp = String.valueOf(p.getOrDefault("omp.threads", "?"));
                blas = String.valueOf(p.getOrDefault("blas.vendor", "?"));
                if (cuda && !"CUDA".equalsIgnoreCase(backend)) {
                    problem = "the CUDA build started ND4J's " + backend + " backend instead of CUDA (is nd4j-native on the class path too?)";
                } else if (cuda) {
                    // A tiny op on the device: fails here when the libraries have no kernels for this GPU.
                    double v = Nd4j.ones(4).addi(1).sumNumber().doubleValue();
                    if (v != 8.0) {
                        problem = "a test operation on the GPU returned " + v + " instead of 8";
                    }
                }
            } catch (Throwable t) {
                problem = reason(t);
            }
        }
        return new Report(backend, version, cuda, cores, omp, blas, gpus, versions[0], versions[1], versions[2], env, problem);
    }

    /** Probes the CUDA driver, runtime, devices and cuDNN through JavaCPP; returns a problem or null. */
    private static String probeCuda(List<Gpu> gpus, String[] versions) {
        try {
            Class<?> rt = Class.forName("org.bytedeco.cuda.global.cudart");
            int[] v = new int[1];
            if ((int) rt.getMethod("cudaDriverGetVersion", int[].class).invoke(null, (Object) v) == 0) {
                versions[0] = v[0] == 0 ? "none" : v[0] / 1000 + "." + v[0] % 1000 / 10;
            }
            if ((int) rt.getMethod("cudaRuntimeGetVersion", int[].class).invoke(null, (Object) v) == 0) {
                versions[1] = v[0] / 1000 + "." + v[0] % 1000 / 10;
            }
            int[] n = new int[1];
            int err = (int) rt.getMethod("cudaGetDeviceCount", int[].class).invoke(null, (Object) n);
            if (err != 0) {
                String what = errorString(rt, err);
                if (err == 35) {
                    return "the NVIDIA driver (CUDA " + versions[0] + ") is older than this build's CUDA " + CUDA_BUILD + " runtime ("
                            + what + "): update the driver to 450.80.02 or newer";
                }
                if (err == 100) {
                    return "no CUDA device visible (" + what + "; CUDA_VISIBLE_DEVICES=" + System.getenv("CUDA_VISIBLE_DEVICES") + ")";
                }
                return "CUDA cannot list devices: " + what + " (error " + err + ")";
            }
            if (n[0] == 0) {
                return "no CUDA device visible (CUDA_VISIBLE_DEVICES=" + System.getenv("CUDA_VISIBLE_DEVICES") + ")";
            }
            Class<?> propC = Class.forName("org.bytedeco.cuda.cudart.cudaDeviceProp");
            Method props = rt.getMethod("cudaGetDeviceProperties", propC, int.class);
            for (int i = 0; i < n[0]; i++) {
                Object p = propC.getConstructor().newInstance();
                props.invoke(null, p, i);
                Object name = propC.getMethod("name").invoke(p);
                String s = String.valueOf(name.getClass().getMethod("getString").invoke(name));
                int major = (int) propC.getMethod("major").invoke(p);
                int minor = (int) propC.getMethod("minor").invoke(p);
                long mem = (long) propC.getMethod("totalGlobalMem").invoke(p);
                gpus.add(new Gpu(i, s, mem, major, minor, supported(major, minor)));
            }
            for (Gpu g : gpus) {
                if (!g.nativeSupport()) {
                    return "GPU " + g.index() + " (" + g.name() + ") has compute capability " + g.major() + "." + g.minor()
                            + ", which this CUDA " + CUDA_BUILD + " build has no kernels for (sm_37 to sm_86, no PTX); hide it with "
                            + "CUDA_VISIBLE_DEVICES or use GPUs of compute capability 3.7 to 8.9";
                }
            }
            try {
                Class<?> dnn = Class.forName("org.bytedeco.cuda.global.cudnn");
                long dv = (long) dnn.getMethod("cudnnGetVersion").invoke(null);
                versions[2] = dv / 1000 + "." + dv % 1000 / 100;
            } catch (Throwable t) {
                return "cuDNN " + CUDNN_BUILD + " not found: " + reason(t);
            }
            return null;
        } catch (Throwable t) {
            return reason(t);
        }
    }

    private static String errorString(Class<?> rt, int err) {
        try {
            Object s = rt.getMethod("cudaGetErrorString", int.class).invoke(null, err);
            return String.valueOf(s.getClass().getMethod("getString").invoke(s));
        } catch (ReflectiveOperationException | RuntimeException e) {
            return "error " + err;
        }
    }

    private static final Pattern LIB = Pattern.compile("(lib[A-Za-z0-9_+-]+\\.so(?:\\.[0-9]+)*)(?=: cannot open shared object file)");

    /** A one-line reason for a failure to load or start the CUDA backend. */
    static String reason(Throwable t) {
        StringBuilder all = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            all.append(c).append(" | ");
            for (Throwable s : c.getSuppressed()) {
                all.append(s).append(" | ");
            }
        }
        String text = all.toString();
        Matcher m = LIB.matcher(text);
        if (m.find()) {
            String lib = m.group(1);
            if (lib.startsWith("libcuda.so")) {
                return "no NVIDIA driver on this node (" + lib + " not found): install the NVIDIA driver (450.80.02 or newer)";
            }
            return "the CUDA " + CUDA_BUILD + " / cuDNN " + CUDNN_BUILD + " libraries are not installed on this node (" + lib
                    + " not found): install them, or use the jar built with -Pcuda-redist, which bundles them";
        }
        if (text.contains("no kernel image is available")) {
            return "this build has no kernels for this GPU's compute capability (it carries sm_37 to sm_86 and no PTX)";
        }
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String msg = root.getClass().getSimpleName() + ": " + root.getMessage();
        return "the CUDA backend cannot start: " + msg.replaceAll("\\s+", " ");
    }
}
