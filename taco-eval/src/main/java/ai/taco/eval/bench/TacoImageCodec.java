package ai.taco.eval.bench;

import ai.taco.eval.codec.CodecSpec;
import ai.taco.core.DecodeOptions;
import ai.taco.core.tensor.Precision;
import ai.taco.core.EncodeOptions;
import ai.taco.core.TacoCodec;
import ai.taco.core.TacoConfig;
import ai.taco.core.bitstream.CompressAiFile;
import ai.taco.core.bitstream.TacoFile;
import ai.taco.core.bitstream.ScaleTable;
import ai.taco.core.tensor.HostTensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One TACO checkpoint as an {@link ImageCodec}: {@link TacoCodec} loaded on first use (so a run holds one network at
 * a time) and released by {@link #close()}. The bitstream is a complete file: by default the official {@code .bin}
 * ({@link CompressAiFile}, so bpp equals the official evaluation's), or TACO-J's {@link TacoFile} container (32 bytes
 * more per image: magic, weights fingerprint, checksums).
 */
public final class TacoImageCodec implements ImageCodec {

  /** Which file layout the rate is measured on. */
  public enum Container {
    /** The official {@code .bin}: {@code 28 + len(y) + len(z)} bytes (docs/bitstream.md). */
    COMPRESSAI,
    /** TACO-J's own container: {@code 60 + len(y) + len(z)} bytes. */
    TACO
  }

  private final CodecSpec spec;
  private final Path weights;
  private final TacoConfig config;
  private final ScaleTable scaleTable;
  private final Container container;
  private final Precision precision;
  private TacoCodec codec;
  private String weightsSha256;

  public TacoImageCodec(CodecSpec spec, Container container) {
    this.weights = spec.weightsPath();
    if (!Files.isRegularFile(weights)) {
      throw new BenchmarkException("TACO checkpoint not found: " + weights);
    }
    this.spec = spec;
    this.config = spec.config();
    this.scaleTable = spec.table();
    this.container = container;
    this.precision = spec.precisionValue();
  }

  @Override
  public String name() {
    return "TACO";
  }

  /** The checkpoint's file name (one rate point per checkpoint). */
  @Override
  public String setting() {
    return weights.getFileName().toString();
  }

  @Override
  public boolean usesText() {
    return true;
  }

  /** The checkpoint's SHA-256 (computed once), the network preset, the scale table and the container. */
  @Override
  public synchronized Map<String, String> configuration() {
    if (weightsSha256 == null) {
      weightsSha256 = RunManifest.sha256(weights);
    }
    Map<String, String> m = new LinkedHashMap<>();
    m.put("weights_sha256", weightsSha256);
    m.put("config", config == null ? "inferred from the weights" : config.toString());
    m.put("scale_table", scaleTable.id());
    m.put("container", container.name().toLowerCase(Locale.ROOT));
    if (precision != Precision.FP32) {
      m.put("precision", precision.id()); // absent for fp32: manifests of earlier runs stay comparable
    }
    return m;
  }

  @Override
  public String extension() {
    return container == Container.COMPRESSAI ? "bin" : "taco";
  }

  private synchronized TacoCodec codec() {
    if (codec == null) {
      codec = spec.build();
    }
    return codec;
  }

  @Override
  public byte[] encode(RgbImage image, TextEmbedding text) {
    if (text == null) {
      throw new BenchmarkException("TACO needs text embeddings");
    }
    HostTensor x = HostTensor.ofFloats(image.planes(), 1, 3, image.height(), image.width());
    HostTensor t = HostTensor.ofFloats(text.values(), 1, text.tokens(), text.width());
    return container == Container.COMPRESSAI
        ? codec().compress(x, t, EncodeOptions.official()).toBytes()
        : codec().compress(x, t).toBytes();
  }

  /**
   * The reconstruction as the official {@code decompress} returns it: the synthesis output cropped to H×W and NOT
   * clamped to [0,1] (the official evaluation measures this float image; see {@link EvalRunner.MetricsOn}).
   */
  @Override
  public RgbImage decode(byte[] bitstream) {
    HostTensor y = container == Container.COMPRESSAI
        ? codec().decompress(CompressAiFile.parse(bitstream), DecodeOptions.unclamped())
        : codec().decompress(TacoFile.parse(bitstream), DecodeOptions.unclamped());
    long[] s = y.shape();
    return new RgbImage(Math.toIntExact(s[s.length - 1]), Math.toIntExact(s[s.length - 2]), y.toFloatArray());
  }

  @Override
  public synchronized void close() {
    if (codec != null) {
      codec.close();
      codec = null;
    }
  }
}
