package ai.taco.train;

import ai.taco.core.CaptionEncoder;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.EncodeOptions;
import ai.taco.core.TacoCodec;
import ai.taco.core.TacoModel;
import ai.taco.core.bitstream.CompressAiFile;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.train.data.ImageTextBatch;
import ai.taco.train.data.CaptionedDataset;
import ai.taco.train.data.Loader;
import ai.taco.train.data.RandomCrop;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proof that training learns: the tiny preset trained for a few dozen steps on the COCO sample must cut the
 * rate-distortion loss of a fixed held-out batch (val2017 crops, eval-mode forward with rounding) by at least 40%, and
 * the trained weights must code those crops to bitstreams that decode to the forward pass's reconstruction.
 */
class LearningTest {

  static final int STEPS = 60;
  /** Required ratio of held-out loss after / before training. */
  static final double MAX_RATIO = 0.6;

  @Test
  void tinyPresetLossFallsOnSampleImages(@TempDir Path dir) {
    CaptionedDataset train = CaptionedDataset.open(Golden.data("train-sample/coco"), null);
    TrainOptions o = TrainOptions.defaults("tiny", dir)
        .withCoefficients(0, 0)
        .withBatch(2, 64, 64)
        .withSteps(100, STEPS)
        .withSeed(3);
    ImageTextBatch heldOut;
    CaptionedDataset val = CaptionedDataset.open(Golden.data("train-sample/coco/val2017"), null);
    try (Loader l = new Loader(val, new Loader.Options(new RandomCrop(64, 64), 4, 99, 1, 1))) {
      heldOut = l.epoch(0, 0).next();
    }
    RateDistortionLoss loss = RateDistortionLoss.rateDistortionOnly(o.lambda());
    try (Trainer t = new Trainer(o, train, CaptionEncoder.zeros(o.config().textDim()), loss, null, null)) {
      double before = heldOutLoss(t.model(), t.manager(), heldOut, loss);
      Trainer.Summary s = t.run();
      assertEquals(STEPS, s.steps());
      double after = heldOutLoss(t.model(), t.manager(), heldOut, loss);
      System.out.printf("[LearningTest] held-out RD loss %.4f -> %.4f (ratio %.3f); train loss %.4f -> %.4f%n",
          before, after, after / before, s.history().get(0).loss(), s.history().get(STEPS - 1).loss());
      assertTrue(after < MAX_RATIO * before, "held-out loss " + before + " -> " + after);
      assertBitstreamsDecode(t.model(), t.manager(), heldOut);
    }
  }

  /**
   * The trained weights go through the real codec: each held-out crop is compressed to the official .bin bytes, parsed
   * back and decoded; the reconstruction must equal the eval-mode forward pass (clamped to [0,1] as the decoder
   * returns it).
   */
  static void assertBitstreamsDecode(TacoModel model, NDManager m, ImageTextBatch b) {
    int plane = 3 * b.height() * b.width();
    try (TacoCodec codec = TacoCodec.builder().setWeights(model.stateDict()).optConfig(model.config()).build();
        NDScope scope = new NDScope()) {
      for (int i = 0; i < b.size(); i++) {
        float[] chw = java.util.Arrays.copyOfRange(b.pixels(), i * plane, (i + 1) * plane);
        HostTensor x = HostTensor.ofFloats(chw, 1, 3, b.height(), b.width());
        HostTensor text = HostTensor.ofFloats(new float[CaptionEncoder.TOKENS * model.config().textDim()], 1,
            CaptionEncoder.TOKENS, model.config().textDim());
        byte[] bytes = codec.compress(x, text, EncodeOptions.official()).toBytes();
        float[] decoded = codec.decompress(CompressAiFile.parse(bytes)).toFloatArray();
        NDArray xa = x.toNDArray(m);
        float[] forward = model.forward(xa, text.toNDArray(m), false).xHat().clip(0f, 1f).toFloatArray();
        double maxDiff = 0;
        for (int k = 0; k < decoded.length; k++) {
          maxDiff = Math.max(maxDiff, Math.abs(decoded[k] - forward[k]));
        }
        System.out.printf("[LearningTest] crop %d: %d bytes (%.3f bpp), decode vs forward max |diff| %.2e%n", i,
            bytes.length, bytes.length * 8.0 / (b.height() * b.width()), maxDiff);
        assertTrue(maxDiff < 1e-3, "decoded reconstruction differs from the forward pass by " + maxDiff);
      }
    }
  }

  static double heldOutLoss(TacoModel model, NDManager m, ImageTextBatch b, RateDistortionLoss loss) {
    try (NDScope scope = new NDScope()) {
      NDArray x = m.create(b.pixels(), new Shape(b.size(), 3, b.height(), b.width()));
      NDArray text = CaptionEncoder.zeros(model.config().textDim()).encode(m, b.captions());
      return loss.compute(model.forward(x, text, false), x, List.of()).loss().getFloat();
    }
  }
}
