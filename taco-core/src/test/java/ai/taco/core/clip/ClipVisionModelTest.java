package ai.taco.core.clip;

import ai.taco.core.error.ClipException;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Diff;
import ai.taco.core.testing.Golden;
import ai.taco.core.weights.StateDict;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Vision tower and TACO's CLIP preprocessing vs transformers / torchvision 0.14 (golden vision-small-out). */
class ClipVisionModelTest {
  static final double TOL = 1e-5;

  static Map<String, HostTensor> out;
  static Map<String, HostTensor> weights;
  static ClipConfig.Vision config;
  static ClipVisionModel model;

  @BeforeAll
  static void load() {
    out = Golden.tensors("clip/vision-small-out.safetensors");
    weights = StateDict.load(Golden.golden("clip/vision-small.safetensors"));
    config = ClipConfig.read(Golden.golden("clip/vision-small-config.json")).requireVision();
    model = ClipVisionModel.fromStateDict(config, weights, "vision-small");
  }

  @AfterAll
  static void close() {
    model.close();
  }

  /** The float input exactly as the golden made it: u8.astype(float32) / 255. */
  static NDArray image(NDManager m, String key) {
    return out.get(key).toNDArray(m).toType(DataType.FLOAT32, false).div(255f);
  }

  @Test
  void forwardFreesItsIntermediates() {
    int held = model.heldArrays();
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray px = out.get("img0.pre").toNDArray(m);
      for (int i = 0; i < 3; i++) {
        model.forward(px);
      }
      assertEquals(1 + 3 * 3, m.getManagedArrays().size(), "input + 3 outputs per call");
    }
    assertEquals(held, model.heldArrays());
  }

  @Test
  void configAndSizes() {
    assertEquals(224, config.imageSize());
    assertEquals(32, config.patchSize());
    assertEquals(50, config.numPositions());
    assertEquals(32, config.projectionDim());
  }

  @Test
  void modelMatchesTransformersOnGoldenPixels() {
    try (NDManager m = NDManager.newBaseManager()) {
      for (int k = 0; k < 3; k++) {
        ClipVisionModel.Output o = model.forward(out.get("img" + k + ".pre").toNDArray(m));
        Diff.assertClose("img" + k + " last_hidden_state", out.get("img" + k + ".last_hidden_state"), o.lastHiddenState(), TOL);
        Diff.assertClose("img" + k + " image_embeds", out.get("img" + k + ".pre.image_embeds"), o.imageEmbeds(), TOL);
      }
    }
  }

  @Test
  void preprocessingMatchesTorchvision014() {
    try (NDManager m = NDManager.newBaseManager()) {
      for (int k = 0; k < 3; k++) {
        NDArray pre = ClipPreprocess.taco().apply(image(m, "img" + k + ".raw_u8"));
        Diff.assertClose("img" + k + " pre (transform_for_clip)", out.get("img" + k + ".pre"), pre, TOL);
        Diff.assertClose(
            "img" + k + " image_embeds (our pre)", out.get("img" + k + ".pre.image_embeds"), model.forward(pre).imageEmbeds(), TOL);
      }
      // Resize(224) alone on x*255: values up to 255, one float32 ulp there is 3e-5.
      NDArray resized = ClipPreprocess.taco().resizeTimes255(image(m, "img2.raw_u8"));
      Diff.assertClose("img2 resized_x255", out.get("img2.resized_x255"), resized, 1e-4);
    }
  }

  /**
   * img1/img2 are upsampled (antialias changes nothing there) and img0's 256->224 barely moves these embeddings; the
   * joint-loss test (JointImageTextLossTest, 7.4586 vs 6.6567) is where the two variants are told apart.
   */
  @Test
  void antialiasedVariantMatchesTorchvision017() {
    try (NDManager m = NDManager.newBaseManager()) {
      ClipPreprocess aa = new ClipPreprocess(224, true);
      for (int k = 0; k < 3; k++) {
        NDArray pre = aa.apply(image(m, "img" + k + ".raw_u8"));
        Diff.assertClose(
            "img" + k + " image_embeds (antialias)",
            out.get("img" + k + ".pre_antialias_true.image_embeds"),
            model.forward(pre).imageEmbeds(),
            TOL);
      }
    }
  }

  @Test
  void resizeAndCropFollowTorchvisionRounding() {
    assertArrayEquals(new int[] {224, 336}, ClipPreprocess.resizedSize(200, 300, 224));
    assertArrayEquals(new int[] {373, 224}, ClipPreprocess.resizedSize(300, 180, 224));
    assertArrayEquals(new int[] {224, 224}, ClipPreprocess.resizedSize(256, 256, 224));
    assertEquals(74, ClipPreprocess.cropOffset(373, 224), "74.5 rounds half to even");
    assertEquals(56, ClipPreprocess.cropOffset(336, 224));
    assertEquals(2, ClipPreprocess.cropOffset(229, 224), "2.5 rounds to 2");
    assertEquals(4, ClipPreprocess.cropOffset(231, 224), "3.5 rounds to 4");
  }

  @Test
  void badInputsAreRefused() {
    try (NDManager m = NDManager.newBaseManager()) {
      assertThrows(ClipException.class, () -> model.forward(m.zeros(new ai.djl.ndarray.types.Shape(1, 3, 200, 224))));
      assertThrows(ClipException.class, () -> ClipPreprocess.taco().apply(m.zeros(new ai.djl.ndarray.types.Shape(1, 4, 64, 64))));
      assertThrows(ClipException.class, () -> ClipPreprocess.taco().apply(m.zeros(new ai.djl.ndarray.types.Shape(3, 64, 64))));
    }
  }

  @Test
  void acceptsTransformers5KeysWithoutPrefix() {
    Map<String, HostTensor> bare = new LinkedHashMap<>();
    weights.forEach((k, v) -> bare.put(k.startsWith("vision_model.") ? k.substring(13) : k, v));
    try (ClipVisionModel a = ClipVisionModel.fromStateDict(config, bare, "bare");
        NDManager m = NDManager.newBaseManager()) {
      NDArray px = out.get("img0.pre").toNDArray(m);
      assertEquals(0.0, Diff.maxAbs(model.forward(px).imageEmbeds().toFloatArray(), a.forward(px).imageEmbeds().toFloatArray()));
      assertTrue(a.hasProjection());
    }
  }
}
