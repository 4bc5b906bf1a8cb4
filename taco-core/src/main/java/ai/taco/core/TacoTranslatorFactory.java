package ai.taco.core;

import ai.djl.Model;
import ai.djl.modality.cv.Image;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.BlockFactory;
import ai.djl.translate.NoBatchifyTranslator;
import ai.djl.translate.TranslateException;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorContext;
import ai.djl.translate.TranslatorFactory;
import ai.djl.util.Pair;
import ai.taco.core.error.WeightsException;
import ai.taco.core.image.Images;
import ai.taco.core.tensor.HostTensor;
import java.io.IOException;
import java.io.Serial;
import java.lang.reflect.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * TACO through DJL's {@code Criteria}: a folder holding TACO weights loads as a DJL model whose block is a {@link
 * TacoCodec} ({@link Codec}, a {@link BlockFactory}), and this factory gives its translators: {@code Image → byte[]}
 * (the {@link ai.taco.core.bitstream.TacoFile} bytes {@link TacoCodec#compress} writes) and {@code byte[] → Image}
 * (either file kind, decoded as {@link TacoCodec#decompress}).
 *
 * <pre>{@code
 * Criteria<Image, byte[]> criteria = Criteria.builder()
 *     .setTypes(Image.class, byte[].class)
 *     .optModelPath(Path.of("models/taco"))               // a folder with one weights file
 *     .optEngine("PyTorch")
 *     .optArgument("blockFactory", TacoTranslatorFactory.Codec.class.getName())
 *     .optOption("hasParameter", "false")                 // the block loads its own weights, not DJL .params
 *     .optTranslatorFactory(new TacoTranslatorFactory())
 *     .build();
 * try (ZooModel<Image, byte[]> model = criteria.loadModel();
 *     Predictor<Image, byte[]> predictor = model.newPredictor()) {
 *   byte[] file = predictor.predict(image);
 * }
 * }</pre>
 *
 * <p>A predictor takes images only, so the caption features are all zeros ({@link CaptionEncoder#zeros}): the bytes
 * equal {@code codec.compress(image, CaptionEncoder.zeros(textDim).encodeTensor(""))}. For captions, use {@link
 * TacoCodec} directly with a {@link CaptionEncoder}.
 */
public final class TacoTranslatorFactory implements TranslatorFactory {
  /** Argument naming the weights file inside the model folder when it holds more than one. */
  public static final String WEIGHTS_ARGUMENT = "weights";

  private static final Set<Pair<Type, Type>> SUPPORTED =
      Set.of(new Pair<>(Image.class, byte[].class), new Pair<>(byte[].class, Image.class));

  @Override
  public Set<Pair<Type, Type>> getSupportedTypes() {
    return SUPPORTED;
  }

  @Override
  @SuppressWarnings("unchecked")
  public <I, O> Translator<I, O> newInstance(Class<I> input, Class<O> output, Model model, Map<String, ?> arguments)
      throws TranslateException {
    if (!(model.getBlock() instanceof CodecBlock block)) {
      throw new TranslateException("the model's block is not a TACO codec: load it with the argument blockFactory="
          + Codec.class.getName() + " (see TacoTranslatorFactory)");
    }
    if (input == Image.class && output == byte[].class) {
      return (Translator<I, O>) new Compress(block.codec().config().textDim());
    }
    if (input == byte[].class && output == Image.class) {
      return (Translator<I, O>) new Decompress();
    }
    throw new TranslateException("TACO translates Image to byte[] and byte[] to Image, not " + input.getName()
        + " to " + output.getName());
  }

  /**
   * DJL's {@code blockFactory}: the {@link TacoCodec} of the weights file in the model folder (the one file ending in
   * {@code .pth}, {@code .pth.tar}, {@code .tar} or {@code .safetensors}, or the one named by the argument {@value
   * #WEIGHTS_ARGUMENT}), on the model's device, architecture read from the weights. Its weights live in a
   * sub-manager of the model's manager: closing the model frees them.
   */
  public static final class Codec implements BlockFactory {
    @Serial private static final long serialVersionUID = 1L;

    /** DJL instantiates block factories by class name. */
    public Codec() {}

    @Override
    public Block newBlock(Model model, Path modelPath, Map<String, ?> arguments) {
      Path weights = weightsFile(modelPath, arguments.get(WEIGHTS_ARGUMENT));
      return new CodecBlock(
          TacoCodec.builder().setWeights(weights).optDevice(model.getNDManager().getDevice())
              .parentManager(model.getNDManager()).build());
    }
  }

  static Path weightsFile(Path dir, Object named) {
    if (named != null) {
      return dir.resolve(named.toString());
    }
    if (Files.isRegularFile(dir)) {
      return dir;
    }
    List<Path> found;
    try (Stream<Path> files = Files.list(dir)) {
      found = files.filter(f -> {
        String n = f.getFileName().toString();
        return Files.isRegularFile(f) && (n.endsWith(".pth") || n.endsWith(".tar") || n.endsWith(".safetensors"));
      }).sorted().toList();
    } catch (IOException e) {
      throw new WeightsException(dir + ": cannot list the model folder (" + e.getMessage() + ")", e);
    }
    if (found.size() != 1) {
      throw new WeightsException(dir + ": expected one weights file (.pth, .pth.tar, .safetensors), found "
          + found.size() + (found.isEmpty() ? "" : " " + found) + "; name one with the argument " + WEIGHTS_ARGUMENT);
    }
    return found.get(0);
  }

  /** Image → TacoFile bytes, caption features all zeros. */
  private static final class Compress implements NoBatchifyTranslator<Image, byte[]> {
    private final HostTensor caption;

    Compress(int textDim) {
      caption = CaptionEncoder.zeros(textDim).encodeTensor("");
    }

    @Override
    public NDList processInput(TranslatorContext ctx, Image image) {
      NDManager m = ctx.getNDManager();
      return new NDList(Images.fromImage(image).toNDArray(m), caption.toNDArray(m));
    }

    @Override
    public byte[] processOutput(TranslatorContext ctx, NDList list) {
      return list.singletonOrThrow().toByteArray();
    }
  }

  /** File bytes (either kind) → decoded image. */
  private static final class Decompress implements NoBatchifyTranslator<byte[], Image> {
    @Override
    public NDList processInput(TranslatorContext ctx, byte[] file) {
      return new NDList(ctx.getNDManager().create(file));
    }

    @Override
    public Image processOutput(TranslatorContext ctx, NDList list) {
      NDArray x = list.singletonOrThrow();
      return Images.toImage(HostTensor.fromNDArray(x));
    }
  }
}
