package io.bitspark.model.layers;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.impl.ElementWiseVertex;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The graph vertex of {@link ResidualAdd}: two inputs of one shape and type added in one pass; backward, one copy of
 * the gradient for both inputs, copied on the kernel pool ({@link NativeMemory#copy}). Anything else (broadcasting,
 * mixed types) goes the way of DL4J's vertex.
 */
public class ResidualAddVertex extends ElementWiseVertex {

    private boolean fused;

    public ResidualAddVertex(ComputationGraph graph, String name, int vertexIndex, DataType dataType) {
        super(graph, name, vertexIndex, Op.Add, dataType);
    }

    private boolean sameShapeAndType() {
        return inputs != null && inputs.length == 2 && inputs[0].equalShapes(inputs[1])
                && inputs[0].dataType() == dataType && inputs[1].dataType() == dataType;
    }

    @Override
    public INDArray doForward(boolean training, LayerWorkspaceMgr workspaceMgr) {
        if (!canDoForward()) {
            throw new IllegalStateException("Cannot do forward pass in " + vertexName + ": inputs not set");
        }
        fused = sameShapeAndType();
        if (!fused) {
            return super.doForward(training, workspaceMgr);
        }
        INDArray sum = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, inputs[0].shape(), 'c');
        Nd4j.exec(new AddOp(inputs[0], inputs[1], sum));
        return sum;
    }

    @Override
    public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr workspaceMgr) {
        if (!canDoBackward()) {
            throw new IllegalStateException("Cannot do backward pass in " + vertexName + ": errors not set");
        }
        if (!fused || !sameShapeAndType()) {
            return super.doBackward(tbptt, workspaceMgr);
        }
        INDArray shared;
        if (NativeMemory.direct(epsilon)) {
            shared = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, epsilon.dataType(), epsilon.shape(), 'c');
            NativeMemory.copy(NativeMemory.mem(epsilon), NativeMemory.mem(shared));
        } else {
            shared = workspaceMgr.dup(ArrayType.ACTIVATION_GRAD, epsilon);
        }
        return new Pair<>(null, new INDArray[] {shared, shared});
    }

    @Override
    public String toString() {
        return "ResidualAddVertex(id=" + vertexIndex + ",name=\"" + vertexName + "\")";
    }
}
