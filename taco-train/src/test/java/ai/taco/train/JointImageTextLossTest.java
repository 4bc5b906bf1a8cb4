package ai.taco.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import ai.taco.core.clip.ClipConfig;
import ai.taco.core.clip.ClipPreprocess;
import ai.taco.core.clip.ClipTextModel;
import ai.taco.core.clip.ClipVisionModel;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.core.weights.StateDict;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** TACO's get_joint_image_text_loss vs the golden run on the small random CLIP (clip/vision-small-out). */
class JointImageTextLossTest {
  static final double REL_TOL = 1e-5;

  static Map<String, HostTensor> out;
  static JsonNode values;
  static ClipTextModel text;
  static ClipVisionModel vision;

  @BeforeAll
  static void load() {
    out = Golden.tensors("clip/vision-small-out.safetensors");
    values = Golden.json("clip/clip-values.json").get("joint_loss");
    text =
        ClipTextModel.fromStateDict(
            ClipConfig.read(Golden.golden("clip/text-small-config.json")).requireText(),
            StateDict.load(Golden.golden("clip/text-small.safetensors")),
            "text-small");
    vision =
        ClipVisionModel.fromStateDict(
            ClipConfig.read(Golden.golden("clip/vision-small-config.json")).requireVision(),
            StateDict.load(Golden.golden("clip/vision-small.safetensors")),
            "vision-small");
  }

  @AfterAll
  static void close() {
    text.close();
    vision.close();
  }

  @Test
  void matchesTacoWithoutAntialias() {
    check("pre", ClipPreprocess.taco(), 7.458559513);
  }

  @Test
  void matchesTacoWithAntialias() {
    check("pre_antialias_true", new ClipPreprocess(224, true), 6.656709);
  }

  /** A HF CLIPModel-style directory (full config, both towers in one model.safetensors) loaded in one call. */
  @Test
  void loadsBothTowersFromOneClipDirectory(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
    com.fasterxml.jackson.databind.node.ObjectNode cfg = json.createObjectNode();
    cfg.put("model_type", "clip");
    cfg.put("projection_dim", 32);
    cfg.set("text_config", Golden.json("clip/text-small-config.json"));
    cfg.set("vision_config", Golden.json("clip/vision-small-config.json"));
    java.nio.file.Files.writeString(dir.resolve("config.json"), cfg.toString());
    Map<String, HostTensor> both = new java.util.LinkedHashMap<>(StateDict.load(Golden.golden("clip/text-small.safetensors")));
    both.putAll(StateDict.load(Golden.golden("clip/vision-small.safetensors")));
    both.put("logit_scale", HostTensor.ofFloats(new float[] {2.6592f}));
    ai.taco.core.weights.SafeTensors.write(dir.resolve("model.safetensors"), both, Map.of());
    try (JointImageTextLoss loss = JointImageTextLoss.load(dir, false);
        NDManager m = NDManager.newBaseManager()) {
      double value = compute(m, loss).value().getFloat();
      double expected = values.get("pre").get("joint_image_text_loss").asDouble();
      assertEquals(expected, value, REL_TOL * expected);
    }
  }

  /** From caption strings: our tokenizer gives the golden batch's ids, and the loss its value. */
  @Test
  void fromCaptionText() {
    java.util.List<String> captions = new java.util.ArrayList<>();
    Golden.json("clip/clip-values.json").get("loss_captions").forEach(c -> captions.add(c.asText()));
    try (ai.taco.core.clip.ClipTokenizer tok = ai.taco.core.clip.ClipTokenizer.load(Golden.golden("clip/tokenizer.json"));
        NDManager m = NDManager.newBaseManager()) {
      ai.taco.core.clip.ClipTokenizer.Tokens t = tok.encode(captions);
      org.junit.jupiter.api.Assertions.assertArrayEquals(out.get("loss.input_ids").toLongArray(), t.inputIds());
      org.junit.jupiter.api.Assertions.assertArrayEquals(out.get("loss.attention_mask").toLongArray(), t.attentionMask());
      NDArray x = out.get("loss.x_u8").toNDArray(m).toType(DataType.FLOAT32, false).div(255f);
      double value =
          new JointImageTextLoss(text, vision, ClipPreprocess.taco()).compute(x, out.get("loss.x_hat").toNDArray(m), t)
              .value().getFloat();
      double expected = values.get("pre").get("joint_image_text_loss").asDouble();
      assertEquals(expected, value, REL_TOL * expected);
    }
  }

  private void check(String variant, ClipPreprocess pre, double readmeValue) {
    JsonNode v = values.get(variant);
    double expected = v.get("joint_image_text_loss").asDouble();
    assertEquals(readmeValue, expected, 1e-6, "clip-values.json and the README agree");
    JointImageTextLoss loss = new JointImageTextLoss(text, vision, pre);
    try (NDManager m = NDManager.newBaseManager()) {
      JointImageTextLoss.Result r = compute(m, loss);
      double value = r.value().getFloat();
      double clip = r.clipLoss().getFloat();
      double dist = r.imageDistance().getFloat();
      System.out.printf(
          "[parity] joint loss %s: %.9f (golden %.9f, rel %.2g); clip %.7f (%.7f); l2 %.8f (%.8f)%n",
          variant, value, expected, Math.abs(value / expected - 1), clip, v.get("clip_loss").asDouble(), dist,
          v.get("l2_term_unscaled").asDouble());
      assertEquals(expected, value, REL_TOL * expected, "joint loss " + variant);
      assertEquals(v.get("clip_loss").asDouble(), clip, REL_TOL * clip, "clip loss " + variant);
      assertEquals(v.get("l2_term_unscaled").asDouble(), dist, REL_TOL * dist, "l2 term " + variant);
      float[] logits = r.logitsPerText().toFloatArray();
      float[] gold = out.get("loss." + variant + ".logits_per_text").toFloatArray();
      for (int i = 0; i < gold.length; i++) {
        assertEquals(gold[i], logits[i], 1e-4, "logits_per_text[" + i + "]");
      }
    }
  }

  private static JointImageTextLoss.Result compute(NDManager m, JointImageTextLoss loss) {
    NDArray x = out.get("loss.x_u8").toNDArray(m).toType(DataType.FLOAT32, false).div(255f);
    NDArray xHat = out.get("loss.x_hat").toNDArray(m);
    return loss.compute(x, xHat, out.get("loss.input_ids").toNDArray(m), out.get("loss.attention_mask").toNDArray(m));
  }

  /** d loss / d x_hat by autograd agrees with central finite differences (directional and per element). */
  @Test
  void gradientWithRespectToXHatMatchesFiniteDifferences() {
    JointImageTextLoss loss = new JointImageTextLoss(text, vision, ClipPreprocess.taco());
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray x = out.get("loss.x_u8").toNDArray(m).toType(DataType.FLOAT32, false).div(255f);
      NDArray xHat = out.get("loss.x_hat").toNDArray(m);
      NDArray ids = out.get("loss.input_ids").toNDArray(m);
      NDArray mask = out.get("loss.attention_mask").toNDArray(m);
      xHat.setRequiresGradient(true);
      float[] grad;
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        NDArray value = loss.compute(x, xHat, ids, mask).value();
        gc.backward(value);
      }
      try (NDArray g = xHat.getGradient()) {
        grad = g.toFloatArray();
      }
      float[] base = xHat.toFloatArray();
      double gradNorm = 0;
      float maxAbs = 0;
      for (float gi : grad) {
        gradNorm += (double) gi * gi;
        maxAbs = Math.max(maxAbs, Math.abs(gi));
      }
      gradNorm = Math.sqrt(gradNorm);
      assertTrue(gradNorm > 0 && Double.isFinite(gradNorm), "gradient norm " + gradNorm);

      // Directional derivative along the gradient: equals |grad|.
      double h = 1e-3;
      float[] plus = base.clone();
      float[] minus = base.clone();
      for (int i = 0; i < base.length; i++) {
        plus[i] += (float) (h * grad[i] / gradNorm);
        minus[i] -= (float) (h * grad[i] / gradNorm);
      }
      double fd = (eval(m, loss, x, plus, ids, mask) - eval(m, loss, x, minus, ids, mask)) / (2 * h);
      System.out.printf("[grad] directional: autograd %.6f, finite difference %.6f%n", gradNorm, fd);
      assertEquals(gradNorm, fd, 0.02 * gradNorm);

      // The first few elements with a large gradient (at least half the largest).
      int checked = 0;
      for (int i = 0; i < grad.length && checked < 3; i++) {
        if (Math.abs(grad[i]) < 0.5 * maxAbs) {
          continue;
        }
        double e = 1e-2;
        float[] p = base.clone();
        float[] q = base.clone();
        p[i] += (float) e;
        q[i] -= (float) e;
        double fdi = (eval(m, loss, x, p, ids, mask) - eval(m, loss, x, q, ids, mask)) / (2 * e);
        System.out.printf("[grad] element %d: autograd %.6g, finite difference %.6g%n", i, grad[i], fdi);
        assertEquals(grad[i], fdi, 0.05 * Math.abs(grad[i]) + 1e-4, "element " + i);
        checked++;
      }
      assertTrue(checked > 0);
    }
  }

  @Test
  void identicalImagesGiveFiniteGradient() {
    JointImageTextLoss loss = new JointImageTextLoss(text, vision, ClipPreprocess.taco());
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray x = out.get("loss.x_u8").toNDArray(m).toType(DataType.FLOAT32, false).div(255f);
      NDArray xHat = x.duplicate();
      xHat.setRequiresGradient(true);
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        JointImageTextLoss.Result r =
            loss.compute(x, xHat, out.get("loss.input_ids").toNDArray(m), out.get("loss.attention_mask").toNDArray(m));
        assertEquals(0f, r.imageDistance().getFloat());
        gc.backward(r.value());
      }
      try (NDArray g = xHat.getGradient()) {
        for (float f : g.toFloatArray()) {
          assertTrue(Float.isFinite(f), "gradient must stay finite when x_hat == x");
        }
      }
    }
  }

  private static double eval(
      NDManager m, JointImageTextLoss loss, NDArray x, float[] xHat, NDArray ids, NDArray mask) {
    try (NDManager s = m.newSubManager()) {
      NDArray xh = s.create(xHat, x.getShape());
      return loss.compute(x, xh, ids, mask).value().getFloat();
    }
  }
}
