package io.bitspark.model.layers;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Parameters of {@link GroupNormalization}: {@code gamma} then {@code beta}, one value per channel (rank 1). */
public final class GroupNormParamInitializer implements ParamInitializer {

    public static final String GAMMA = "gamma";
    public static final String BETA = "beta";
    private static final GroupNormParamInitializer INSTANCE = new GroupNormParamInitializer();

    public static GroupNormParamInitializer getInstance() {
        return INSTANCE;
    }

    private GroupNormParamInitializer() {}

    @Override
    public long numParams(NeuralNetConfiguration conf) {
        return numParams(conf.getLayer());
    }

    @Override
    public long numParams(Layer layer) {
        return 2 * ((GroupNormalization) layer).getNOut();
    }

    @Override
    public List<String> paramKeys(Layer layer) {
        return List.of(GAMMA, BETA);
    }

    @Override
    public List<String> weightKeys(Layer layer) {
        return Collections.emptyList();
    }

    @Override
    public List<String> biasKeys(Layer layer) {
        return Collections.emptyList();
    }

    @Override
    public boolean isWeightParam(Layer layer, String key) {
        return false;
    }

    @Override
    public boolean isBiasParam(Layer layer, String key) {
        return false;
    }

    @Override
    public Map<String, INDArray> init(NeuralNetConfiguration conf, INDArray paramView, boolean initializeParams) {
        Map<String, INDArray> params = split(conf, paramView);
        if (initializeParams) {
            params.get(GAMMA).assign(1.0);
            params.get(BETA).assign(0.0);
        }
        conf.addVariable(GAMMA);
        conf.addVariable(BETA);
        return params;
    }

    @Override
    public Map<String, INDArray> getGradientsFromFlattened(NeuralNetConfiguration conf, INDArray gradientView) {
        return split(conf, gradientView);
    }

    private static Map<String, INDArray> split(NeuralNetConfiguration conf, INDArray view) {
        long c = ((GroupNormalization) conf.getLayer()).getNOut();
        INDArray flat = view.reshape(view.length());
        Map<String, INDArray> out = Collections.synchronizedMap(new LinkedHashMap<>());
        out.put(GAMMA, flat.get(NDArrayIndex.interval(0, c)));
        out.put(BETA, flat.get(NDArrayIndex.interval(c, 2 * c)));
        return out;
    }
}
