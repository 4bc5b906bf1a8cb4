package ai.taco.core.clip;

import ai.taco.core.nn.Scalars;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The pre-LayerNorm transformer stack both CLIP towers share (transformers {@code CLIPEncoder}): per layer {@code x
 * += attn(LN1(x)); x += fc2(act(fc1(LN2(x))))}, attention {@code softmax(q k^T * head_dim^-0.5 + mask) v} with biased
 * q/k/v/out projections. Frozen weights; every op takes the activation as its first operand so results belong to
 * the caller's manager.
 */
final class ClipEncoder {

  private final Layer[] layers;
  private final int numHeads;
  private final int headDim;
  private final float layerNormEps;
  private final HiddenAct act;

  private record Layer(
      NDArray ln1w,
      NDArray ln1b,
      NDArray qw,
      NDArray qb,
      NDArray kw,
      NDArray kb,
      NDArray vw,
      NDArray vb,
      NDArray ow,
      NDArray ob,
      NDArray ln2w,
      NDArray ln2b,
      NDArray fc1w,
      NDArray fc1b,
      NDArray fc2w,
      NDArray fc2b) {}

  ClipEncoder(
      Map<String, NDArray> w,
      String prefix,
      int numLayers,
      int numHeads,
      int hidden,
      double layerNormEps,
      String hiddenAct) {
    this.numHeads = numHeads;
    this.headDim = hidden / numHeads;
    this.layerNormEps = (float) layerNormEps;
    this.act = HiddenAct.of(hiddenAct);
    this.layers = new Layer[numLayers];
    for (int i = 0; i < numLayers; i++) {
      String p = prefix + "encoder.layers." + i + ".";
      layers[i] =
          new Layer(
              w.get(p + "layer_norm1.weight"),
              w.get(p + "layer_norm1.bias"),
              w.get(p + "self_attn.q_proj.weight"),
              w.get(p + "self_attn.q_proj.bias"),
              w.get(p + "self_attn.k_proj.weight"),
              w.get(p + "self_attn.k_proj.bias"),
              w.get(p + "self_attn.v_proj.weight"),
              w.get(p + "self_attn.v_proj.bias"),
              w.get(p + "self_attn.out_proj.weight"),
              w.get(p + "self_attn.out_proj.bias"),
              w.get(p + "layer_norm2.weight"),
              w.get(p + "layer_norm2.bias"),
              w.get(p + "mlp.fc1.weight"),
              w.get(p + "mlp.fc1.bias"),
              w.get(p + "mlp.fc2.weight"),
              w.get(p + "mlp.fc2.bias"));
    }
  }

  /** The key -> shape map of the encoder's weights under {@code prefix} (HF names). */
  static Map<String, Shape> expectedShapes(String prefix, int numLayers, int hidden, int intermediate) {
    Map<String, Shape> m = new LinkedHashMap<>();
    for (int i = 0; i < numLayers; i++) {
      String p = prefix + "encoder.layers." + i + ".";
      for (String proj : new String[] {"q_proj", "k_proj", "v_proj", "out_proj"}) {
        m.put(p + "self_attn." + proj + ".weight", new Shape(hidden, hidden));
        m.put(p + "self_attn." + proj + ".bias", new Shape(hidden));
      }
      m.put(p + "layer_norm1.weight", new Shape(hidden));
      m.put(p + "layer_norm1.bias", new Shape(hidden));
      m.put(p + "mlp.fc1.weight", new Shape(intermediate, hidden));
      m.put(p + "mlp.fc1.bias", new Shape(intermediate));
      m.put(p + "mlp.fc2.weight", new Shape(hidden, intermediate));
      m.put(p + "mlp.fc2.bias", new Shape(hidden));
      m.put(p + "layer_norm2.weight", new Shape(hidden));
      m.put(p + "layer_norm2.bias", new Shape(hidden));
    }
    return m;
  }

  /**
   * Runs every layer.
   *
   * @param x {@code [B, L, D]}
   * @param additiveMask {@code [B, 1, L, L]} (0 or float32 min), or {@code null} for full attention
   */
  NDArray forward(NDArray x, NDArray additiveMask) {
    for (Layer l : layers) {
      NDArray h = layerNorm(x, l.ln1w, l.ln1b);
      x = x.add(attention(h, l, additiveMask));
      h = layerNorm(x, l.ln2w, l.ln2b);
      h = linear(act.apply(linear(h, l.fc1w, l.fc1b)), l.fc2w, l.fc2b);
      x = x.add(h);
    }
    return x;
  }

  private NDArray attention(NDArray h, Layer l, NDArray additiveMask) {
    long b = h.getShape().get(0);
    long n = h.getShape().get(1);
    NDArray q = heads(linear(h, l.qw, l.qb), b, n);
    NDArray k = heads(linear(h, l.kw, l.kb), b, n);
    NDArray v = heads(linear(h, l.vw, l.vb), b, n);
    // transformers' eager attention scales the scores (not q) by head_dim^-0.5.
    NDArray scores = Scalars.mul(q.matMul(k.transpose(0, 1, 3, 2)), Math.pow(headDim, -0.5));
    if (additiveMask != null) {
      scores = scores.add(additiveMask);
    }
    NDArray ctx = scores.softmax(-1).matMul(v).transpose(0, 2, 1, 3).reshape(b, n, (long) numHeads * headDim);
    return linear(ctx, l.ow, l.ob);
  }

  private NDArray heads(NDArray t, long b, long n) {
    return t.reshape(b, n, numHeads, headDim).transpose(0, 2, 1, 3);
  }

  NDArray layerNorm(NDArray x, NDArray g, NDArray beta) {
    return layerNorm(x, g, beta, layerNormEps);
  }

  static NDArray layerNorm(NDArray x, NDArray g, NDArray beta, float eps) {
    return LayerNorm.layerNorm(x, new Shape(g.getShape().get(0)), g, beta, eps).singletonOrThrow();
  }

  static NDArray linear(NDArray x, NDArray w, NDArray bias) {
    return (bias == null ? Linear.linear(x, w) : Linear.linear(x, w, bias)).singletonOrThrow();
  }
}
