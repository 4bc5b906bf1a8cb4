package ai.taco.eval.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.taco.core.CaptionEncoder;
import ai.taco.core.tensor.HostTensor;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runner's bookkeeping: which text reaches a text codec, labels, set metrics, size checks. */
class EvalRunnerTest {

  /** A lossless text-reading codec: raw float planes, plus the caption text it was given (recorded). */
  static final class RecordingCodec implements ImageCodec {
    final List<String> sources = new ArrayList<>();
    final int shrink;
    boolean closed;

    RecordingCodec(int shrink) {
      this.shrink = shrink;
    }

    @Override
    public String name() {
      return "REC";
    }

    @Override
    public String setting() {
      return "s";
    }

    @Override
    public boolean usesText() {
      return true;
    }

    @Override
    public byte[] encode(RgbImage image, TextEmbedding text) {
      sources.add(EchoCaptions.decode(text.values()));
      ByteBuffer b = ByteBuffer.allocate(8 + 4 * image.planes().length);
      b.putInt(image.width() - shrink).putInt(image.height());
      for (float v : image.planes()) {
        b.putFloat(v);
      }
      return b.array();
    }

    @Override
    public RgbImage decode(byte[] bits) {
      ByteBuffer b = ByteBuffer.wrap(bits);
      int w = b.getInt();
      int h = b.getInt();
      float[] p = new float[3 * w * h];
      for (int i = 0; i < p.length; i++) {
        p[i] = b.getFloat();
      }
      return new RgbImage(w, h, p);
    }

    @Override
    public void close() {
      closed = true;
    }
  }

  /** Caption encoder whose features spell out the image name and caption it saw ("name=caption", one char a value). */
  static final class EchoCaptions implements CaptionEncoder {
    static final int WIDTH = 512;

    @Override
    public String source() {
      return "echo";
    }

    @Override
    public int width() {
      return WIDTH;
    }

    @Override
    public NDArray encode(NDManager manager, List<String> captions) {
      throw new UnsupportedOperationException("the runner asks per image");
    }

    @Override
    public HostTensor encodeTensor(String imageName, String caption) {
      String s = imageName + "=" + caption;
      float[] f = new float[TOKENS * WIDTH];
      java.util.Arrays.fill(f, -1f);
      for (int i = 0; i < s.length(); i++) {
        f[i] = s.charAt(i);
      }
      return HostTensor.ofFloats(f, 1, TOKENS, WIDTH);
    }

    static String decode(float[] f) {
      StringBuilder b = new StringBuilder();
      for (int i = 0; i < f.length && f[i] >= 0; i++) {
        b.append((char) f[i]);
      }
      return b.toString();
    }
  }

  /** Feature = mean of the image; distance = |mean(a) - mean(b)| over the set. Counts feature calls. */
  static final class MeanSetMetric implements SetMetric {
    int calls;

    @Override
    public String name() {
      return "meandiff";
    }

    @Override
    public float[] features(RgbImage image) {
      calls++;
      double s = 0;
      for (float v : image.planes()) {
        s += v;
      }
      return new float[] {(float) (s / image.planes().length)};
    }

    @Override
    public double distance(List<float[]> a, List<float[]> b) {
      assertEquals(a.size(), b.size());
      double d = 0;
      for (int i = 0; i < a.size(); i++) {
        d += a.get(i)[0] - b.get(i)[0];
      }
      return Math.abs(d);
    }
  }

  static EvalDataset tiny(Path dir) throws Exception {
    Files.createDirectories(dir);
    for (int k = 0; k < 3; k++) {
      float[] p = new float[3 * 16 * 8];
      for (int i = 0; i < p.length; i++) {
        p[i] = ((i * 7 + k * 13) % 256) / 255f;
      }
      new RgbImage(16, 8, p).writePng(dir.resolve("img" + k + ".png"));
    }
    Path caps = dir.resolve("caps.json");
    Files.writeString(caps, "{\"img0.png\": \"a\", \"img1.png\": \"b b\", \"img2.png\": \"c\"}");
    return EvalDataset.folder(dir, caps, 0);
  }

  @Test
  void datasetModePassesEachCaptionAndEmptyModePassesEmpty(@TempDir Path tmp) throws Exception {
    EvalDataset ds = tiny(tmp.resolve("d"));
    RecordingCodec c1 = new RecordingCodec(0);
    EvalResults r = new EvalRunner(new EvalRunner.Options(tmp.resolve("o1"), EvalRunner.CaptionMode.DATASET, false,
        false, false)).run(ds, List.of(c1), new EchoCaptions(), List.of(new StandardMetrics.PsnrMetric()), List.of(), List.of());
    assertEquals(List.of("img0.png=a", "img1.png=b b", "img2.png=c"), c1.sources);
    assertTrue(c1.closed);
    assertTrue(r.info().captionsUsed());
    assertEquals("echo", r.images().get(0).textSource());
    assertEquals(Double.POSITIVE_INFINITY, r.images().get(0).metrics().get("psnr"));
    // Lossless raw floats: 8 header bytes + 4 bytes per sample.
    assertEquals(8 + 4 * 3 * 16 * 8, r.images().get(0).bytes());
    assertEquals(8.0 * (8 + 4 * 3 * 16 * 8) / (16 * 8), r.points().get(0).bpp());

    RecordingCodec c2 = new RecordingCodec(0);
    r = new EvalRunner(new EvalRunner.Options(tmp.resolve("o2"), EvalRunner.CaptionMode.EMPTY, false, false, false))
        .run(ds, List.of(c2), new EchoCaptions(), List.of(), List.of(), List.of());
    assertEquals(List.of("img0.png=", "img1.png=", "img2.png="), c2.sources);
    assertFalse(r.info().captionsUsed());
    assertTrue(r.info().notes().stream().anyMatch(n -> n.contains("Empty-caption")), r.info().notes().toString());
  }

  @Test
  void zeroFallbackIsLabelledInEveryRowAndInTheNotes(@TempDir Path tmp) throws Exception {
    EvalDataset ds = tiny(tmp.resolve("d"));
    EvalResults r = new EvalRunner(new EvalRunner.Options(tmp.resolve("o"), EvalRunner.CaptionMode.DATASET, false,
        false, false)).run(ds, List.of(new RecordingCodec(0), new JpegCodec(50)), CaptionEncoder.zeros(EchoCaptions.WIDTH), List.of(),
        List.of(), List.of());
    assertFalse(r.info().captionsUsed());
    assertTrue(r.info().textSource().contains("NOT used"));
    for (EvalResults.ImageResult i : r.images()) {
      assertEquals(i.codec().equals("REC") ? CaptionEncoder.zeros(EchoCaptions.WIDTH).source() : "none", i.textSource());
    }
    assertTrue(r.info().notes().stream().anyMatch(n -> n.contains("WITHOUT captions")));
  }

  @Test
  void setMetricsReuseTheOriginalsFeaturesAcrossCodecs(@TempDir Path tmp) throws Exception {
    EvalDataset ds = tiny(tmp.resolve("d"));
    MeanSetMetric m = new MeanSetMetric();
    EvalResults r = new EvalRunner(new EvalRunner.Options(tmp.resolve("o"), EvalRunner.CaptionMode.DATASET, true,
        true, false)).run(ds, List.of(new RecordingCodec(0), new JpegCodec(10)), new EchoCaptions(), List.of(),
        List.of(m), List.of());
    // 3 originals once + 3 reconstructions per codec.
    assertEquals(3 + 2 * 3, m.calls);
    assertEquals(0.0, r.points().get(0).metrics().get("meandiff"), 1e-7);
    assertTrue(r.points().get(1).metrics().get("meandiff") > 0);
    assertTrue(Files.isRegularFile(tmp.resolve("o/reconstructions/JPEG_q=10/img2.png")));
    assertEquals(r.images().get(5).bytes(), Files.size(tmp.resolve("o/bitstreams/JPEG_q=10/img2.jpg")));
  }

  @Test
  void wrongDecodedSizeIsAnError(@TempDir Path tmp) throws Exception {
    EvalDataset ds = tiny(tmp.resolve("d"));
    EvalRunner runner = new EvalRunner(new EvalRunner.Options(tmp.resolve("o"), EvalRunner.CaptionMode.DATASET,
        false, false, false));
    BenchmarkException e = assertThrows(BenchmarkException.class, () -> runner.run(ds, List.of(new RecordingCodec(1)),
        new EchoCaptions(), List.of(), List.of(), List.of()));
    assertTrue(e.getMessage().contains("15x8 instead of 16x8"), e.getMessage());
    assertThrows(BenchmarkException.class,
        () -> runner.run(ds, List.of(), new EchoCaptions(), List.of(), List.of(), List.of()));
  }

  /** A recorded row whose features are gone is computed again; one of a point outside the run is an error. */
  @Test
  void resumeRecomputesRowsWithoutFeaturesAndRefusesForeignRows(@TempDir Path tmp) throws Exception {
    EvalDataset ds = tiny(tmp.resolve("d"));
    Path out = tmp.resolve("o");
    EvalRunner.Options fresh = new EvalRunner.Options(out, EvalRunner.CaptionMode.DATASET,
        EvalRunner.MetricsOn.FLOAT, false, false, false, false);
    EvalRunner.Options resume = new EvalRunner.Options(out, EvalRunner.CaptionMode.DATASET,
        EvalRunner.MetricsOn.FLOAT, false, false, false, true);
    EvalResults first = new EvalRunner(fresh).run(ds, List.of(new JpegCodec(10)), new EchoCaptions(),
        List.of(new StandardMetrics.PsnrMetric()), List.of(new MeanSetMetric()), List.of());
    Files.delete(out.resolve("features/meandiff/JPEG_q=10.txt"));
    MeanSetMetric m = new MeanSetMetric();
    List<String> computed = new ArrayList<>();
    EvalResults again = new EvalRunner(resume, r -> computed.add(r.image())).run(ds, List.of(new JpegCodec(10)),
        new EchoCaptions(), List.of(new StandardMetrics.PsnrMetric()), List.of(m), List.of());
    assertEquals(List.of("img0.png", "img1.png", "img2.png"), computed);
    assertEquals(3, m.calls, "originals' features were kept, reconstructions' recomputed");
    assertEquals(first, again);

    BenchmarkException e = assertThrows(BenchmarkException.class, () -> new EvalRunner(resume).run(ds,
        List.of(new JpegCodec(20)), new EchoCaptions(), List.of(new StandardMetrics.PsnrMetric()), List.of(),
        List.of()));
    assertTrue(e.getMessage().contains("not part of this run"), e.getMessage());
  }
}
