package io.bitspark.model.layers;

import java.util.Collection;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;

/** What DL4J asks of a layer configuration's {@code instantiate}, written once for this package's layers. */
final class LayerWiring {

    private LayerWiring() {}

    /**
     * {@code layer} with its listeners, index and configuration, and its parameters as views of {@code paramsView}
     * (initialized when {@code initialize}); a layer without parameters gets an empty table and no view.
     */
    static <L extends Layer> L wire(L layer, ParamInitializer params, NeuralNetConfiguration conf, Collection<TrainingListener> listeners,
                                    int index, INDArray paramsView, boolean initialize) {
        layer.setListeners(listeners);
        layer.setIndex(index);
        if (params.numParams(conf) > 0) {
            layer.setParamsViewArray(paramsView);
        }
        layer.setParamTable(params.init(conf, paramsView, initialize));
        layer.setConf(conf);
        return layer;
    }
}
