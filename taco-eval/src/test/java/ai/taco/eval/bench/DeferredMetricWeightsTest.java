package ai.taco.eval.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.testing.Golden;
import ai.taco.metrics.InceptionV3;
import ai.taco.metrics.Lpips;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deferred metric weights: names, columns and the FID distance need no network, so a driver that only reduces
 * features loads none; the first image loads it, once; eager opening loads at once, as before.
 */
class DeferredMetricWeightsTest {

  @TempDir Path tmp;

  @Test
  void deferredNetworksLoadOnTheirFirstImageOnly() throws Exception {
    Path lpips = Golden.golden("lpips/lpips-alex-randtrunk.safetensors");
    Path inception = Golden.dequantizedInception(tmp.resolve("inception.safetensors"));
    int before = MetricWeights.loads();
    try (StandardMetrics m = StandardMetrics.open(List.of(lpips), Lpips.InputConvention.TACO_QUIRK, null, inception,
        null, true)) {
      assertEquals(List.of("psnr", "ms_ssim", "lpips"), m.imageMetrics().stream().map(ImageMetric::name).toList());
      SetMetric fid = m.setMetrics().get(0);
      assertEquals(List.of("fid", "kid", "kid_std"), fid.columns());
      Random r = new Random(3);
      List<float[]> a = new ArrayList<>();
      List<float[]> b = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        a.add(gaussian(r));
        b.add(gaussian(r));
      }
      double d = fid.distance(a, b);
      assertTrue(d > 0, "fid " + d);
      assertEquals(before, MetricWeights.loads(), "names, columns and distances load no network");

      RgbImage x = image(r);
      RgbImage y = image(r);
      double first = m.imageMetrics().get(2).compute(x, y);
      assertEquals(before + 1, MetricWeights.loads(), "the first LPIPS image loads LPIPS only");
      assertEquals(first, m.imageMetrics().get(2).compute(x, y), 0.0);
      assertEquals(before + 1, MetricWeights.loads(), "once");
    }
    try (StandardMetrics eager = StandardMetrics.open(List.of(lpips), Lpips.InputConvention.TACO_QUIRK, null,
        inception, null)) {
      assertEquals(before + 3, MetricWeights.loads(), "opened eagerly: LPIPS and InceptionV3 at once");
    }
  }

  private static float[] gaussian(Random r) {
    float[] v = new float[InceptionV3.FEATURE_DIM];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) r.nextGaussian();
    }
    return v;
  }

  private static RgbImage image(Random r) {
    float[] planes = new float[3 * 64 * 64];
    for (int i = 0; i < planes.length; i++) {
      planes[i] = r.nextFloat();
    }
    return new RgbImage(64, 64, planes);
  }
}
