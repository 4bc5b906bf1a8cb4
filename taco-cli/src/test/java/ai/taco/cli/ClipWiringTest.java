package ai.taco.cli;

import static ai.taco.cli.CliTesting.smallClipDir;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.taco.core.TacoConfig;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.core.weights.SafeTensors;
import ai.taco.train.RateDistortionLoss;
import ai.taco.train.TrainOptions;
import ai.taco.train.Trainer;
import ai.taco.train.data.CaptionedDataset;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The --clip path with the golden small random CLIP (text and vision towers of width 64) assembled as a HuggingFace
 * CLIP folder: captions reach the encoder as CLIP text features, and k_J > 0 adds the joint image-text term.
 */
class ClipWiringTest {

  @Test
  void captionsAndJointTermComeFromClip(@TempDir Path dir) throws Exception {
    Path clip = smallClipDir(Files.createDirectories(dir.resolve("clip")));
    // The tiny network with a text width of 64 to match the small CLIP tower.
    TacoConfig config = new TacoConfig(16, 32, List.of(2, 2, 4, 8, 16), 64, 8);
    assertThrows(IllegalArgumentException.class,
        () -> Components.create(TacoConfig.TINY, clip, null, "taco", 0, 0.0025, null, null),
        "a CLIP width that does not match the model's text dimension must be refused");
    try (Components c = Components.create(config, clip, null, "taco", 0, 0.0025, null, null);
        NDManager m = NDManager.newBaseManager()) {
      assertTrue(c.captionEncoder().usesCaptions());
      assertNotNull(c.joint());
      NDArray f = c.captionEncoder().encode(m, List.of("a brick building", "a red door"));
      assertEquals(new ai.djl.ndarray.types.Shape(2, 38, 64), f.getShape());
      assertTrue(f.get(0).sub(f.get(1)).abs().max().getFloat() > 1e-3, "different captions, different features");

      TrainOptions o = new TrainOptions("custom", config, 0.0004, 0, 0.0025, 1, 1e-4, 1e-3, 2, 64, 64, 4, 1.0,
          new int[] {45, 48}, dir.resolve("run"), 2, 1, 1);
      CaptionedDataset coco = CaptionedDataset.open(Golden.data("train-sample/coco"), null);
      try (Trainer t = new Trainer(o, coco, c.captionEncoder(),
          new RateDistortionLoss(o.lambda(), 0, null, 0.0025, c.joint()), null, null)) {
        List<Trainer.StepMetrics> h = t.run().history();
        assertEquals(2, h.size());
        for (Trainer.StepMetrics s : h) {
          assertTrue(Double.isFinite(s.joint()) && s.joint() > 0, "joint term computed: " + s);
          double withoutJoint = o.lambda() * 255 * 255 * s.mse() + s.bpp();
          assertEquals(withoutJoint + 0.0025 * s.joint(), s.loss(), 1e-4 * s.loss());
        }
      }
    }
  }
}
