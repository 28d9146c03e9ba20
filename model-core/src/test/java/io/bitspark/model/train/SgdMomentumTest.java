package io.bitspark.model.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.schedule.MapSchedule;
import org.nd4j.linalg.schedule.ScheduleType;

class SgdMomentumTest {

    /** Steps worked by hand: v1 = g1; v2 = 0.9 v1 + g2; v3 = 0.9 v2 + g3; step_t = lr_t * v_t. */
    @Test
    void heavyBallStepsWithTheLearningRateOutsideTheVelocity() {
        MapSchedule lr = new MapSchedule.Builder(ScheduleType.ITERATION).add(0, 0.1).add(2, 0.01).build();
        SgdMomentum cfg = new SgdMomentum(lr, 0.9);
        INDArray state = Nd4j.zeros(DataType.DOUBLE, 1, 2);
        GradientUpdater<?> u = cfg.instantiate(state, true);

        double[][] grads = {{1.0, -2.0}, {0.5, 0.5}, {-1.0, 4.0}};
        double[][] expectedSteps = {
                {0.1 * 1.0, 0.1 * -2.0},
                {0.1 * (0.9 * 1.0 + 0.5), 0.1 * (0.9 * -2.0 + 0.5)},
                {0.01 * (0.9 * 1.4 - 1.0), 0.01 * (0.9 * -1.3 + 4.0)},
        };
        for (int t = 0; t < 3; t++) {
            INDArray g = Nd4j.createFromArray(grads[t]);
            u.applyUpdater(g, t, 0);
            assertArrayEquals(expectedSteps[t], g.toDoubleVector(), 1e-12, "step " + t);
        }
        assertArrayEquals(new double[] {0.9 * 1.4 - 1.0, 0.9 * -1.3 + 4.0}, state.toDoubleVector(), 1e-12);
        assertEquals(0.01, cfg.getLearningRate(5, 0), 0.0);
    }
}
