package ai.taco.core.nn;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.tensor.Precision;
import org.junit.jupiter.api.Test;

/**
 * The Injector in bfloat16 inference on a map of the reduced stream: every operation in bfloat16 (the caption folded
 * into two products, the output bias spread over the heads' probabilities, the residual added inside the second
 * product), against the float32 Injector on the same bfloat16-rounded map.
 */
class InjectorTest {
  private static final int DIM = 32;
  private static final int TEXT = 24;
  private static final int HEADS = 4;

  @Test
  void bf16InjectorStaysInTheStreamAndMatchesFloat32() {
    try (NDManager m = NDManager.newBaseManager();
        NDScope scope = new NDScope()) {
      NamedParameters p = new NamedParameters();
      Injector injector = new Injector(p, "inj", DIM, TEXT, HEADS);
      p.initialize(m, 21);
      // Initialisation zeroes gamma and the attention's biases, which would hide the folded gamma and bias terms.
      p.put("inj.gamma", m.randomNormal(0, 1, new Shape(DIM), DataType.FLOAT32));
      p.put("inj.cross_attn.in_proj_bias", m.randomNormal(0, 0.5f, new Shape(3 * DIM), DataType.FLOAT32));
      p.put("inj.cross_attn.out_proj.bias", m.randomNormal(0, 0.5f, new Shape(DIM), DataType.FLOAT32));
      p.freeze();
      NDArray x = m.randomNormal(0, 2, new Shape(1, DIM, 6, 7), DataType.FLOAT32);
      NDArray text = m.randomNormal(new Shape(1, 9, TEXT));
      NDArray[] got;
      try (ReducedPrecision.Scope s = ReducedPrecision.request(Precision.BF16)) {
        got = ReducedPrecision.transform(() -> {
          NDArray xr = ReducedPrecision.toReduced(x);
          NDArray out = injector.forward(xr, text);
          assertTrue(ReducedPrecision.isReduced(out), "the result stays in the reduced stream");
          assertTrue(OneDnn.usable(xr), "the bfloat16 route applies");
          return new NDArray[] {ReducedPrecision.float32(xr), ReducedPrecision.float32(out)};
        });
      }
      float[] want = injector.forward(got[0], text).toFloatArray();
      float[] bf16 = got[1].toFloatArray();
      double scale = 0;
      double err = 0;
      for (int i = 0; i < want.length; i++) {
        scale = Math.max(scale, Math.abs(want[i]));
        err = Math.max(err, Math.abs(want[i] - bf16[i]));
      }
      // bfloat16's 8 significant bits through LayerNorm, two products and a softmax: a few 2^-8 of the largest output
      // (dropping the output bias, or adding it once per head, is off by tenths).
      assertTrue(err <= scale / 32, "max|err| " + err + " (max|out| " + scale + ")");
      assertFalse(err <= 1e-5 * scale, "float32-exact (" + err + "), so bfloat16 did not run");
    }
  }
}
