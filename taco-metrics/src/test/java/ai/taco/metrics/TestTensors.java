package ai.taco.metrics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.tensor.HostTensor;

/** Small conversions for golden tensors in tests. */
final class TestTensors {
  private TestTensors() {}

  /** Image values in [0,1]: U8 tensors follow the golden convention {@code float32(u8) / 255f}. */
  static float[] floats01(HostTensor t) {
    float[] f = t.toFloatArray();
    if (t.dataType() == DataType.UINT8) {
      for (int i = 0; i < f.length; i++) {
        f[i] = f[i] / 255.0f;
      }
    }
    return f;
  }

  static NDArray image(NDManager m, HostTensor t) {
    return m.create(floats01(t), new Shape(t.shape()));
  }

  static int dim(HostTensor t, int i) {
    return (int) t.shape()[i];
  }

  static double[][] rows(HostTensor t) {
    double[] d = t.toDoubleArray();
    int n = dim(t, 0), k = dim(t, 1);
    double[][] r = new double[n][k];
    for (int i = 0; i < n; i++) {
      System.arraycopy(d, i * k, r[i], 0, k);
    }
    return r;
  }

  static float[][] floatRows(HostTensor t) {
    float[] d = t.toFloatArray();
    int n = dim(t, 0), k = dim(t, 1);
    float[][] r = new float[n][k];
    for (int i = 0; i < n; i++) {
      System.arraycopy(d, i * k, r[i], 0, k);
    }
    return r;
  }
}
