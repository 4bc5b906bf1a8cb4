package ai.taco.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.inference.Predictor;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.taco.core.bitstream.CodedImage;
import ai.taco.core.bitstream.TacoFile;
import ai.taco.core.error.WeightsException;
import ai.taco.core.image.Images;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TACO loaded through DJL's Criteria from a folder holding the small model's weights: the Image → byte[] predictor
 * gives exactly the file TacoCodec.compress writes for the same image (all-zero caption features), and the byte[] →
 * Image predictor gives exactly the image TacoCodec.decompress decodes.
 */
class TacoTranslatorFactoryTest {
  @TempDir Path tmp;

  private <I, O> Criteria<I, O> criteria(Class<I> in, Class<O> out, Path dir) {
    return Criteria.builder()
        .setTypes(in, out)
        .optModelPath(dir)
        .optEngine("PyTorch")
        .optArgument("blockFactory", TacoTranslatorFactory.Codec.class.getName())
        .optOption("hasParameter", "false")
        .optTranslatorFactory(new TacoTranslatorFactory())
        .build();
  }

  @Test
  void criteriaModelCodesAsTacoCodecDoes() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("taco-small"));
    Files.copy(Golden.tacoSmallWeights(), dir.resolve("weights.safetensors"));
    Image image = ImageFactory.getInstance().fromFile(Golden.golden("taco-small/img0_64x64.png"));

    byte[] expected;
    HostTensor expectedDecoded;
    try (TacoCodec codec = TacoCodec.builder().setWeights(dir.resolve("weights.safetensors")).build()) {
      HostTensor zeros = CaptionEncoder.zeros(codec.config().textDim()).encodeTensor("");
      TacoFile f = codec.compress(image, zeros);
      expected = f.toBytes();
      expectedDecoded = codec.decompress(f);
    }

    byte[] file;
    try (ZooModel<Image, byte[]> model = criteria(Image.class, byte[].class, dir).loadModel();
        Predictor<Image, byte[]> predictor = model.newPredictor()) {
      file = predictor.predict(image);
      assertArrayEquals(expected, file, "the Criteria model's file equals TacoCodec.compress's");
      assertArrayEquals(expected, predictor.predict(image), "and again");
    }
    assertTrue(CodedImage.parse(file) instanceof TacoFile);

    try (ZooModel<byte[], Image> model = criteria(byte[].class, Image.class, dir).loadModel();
        Predictor<byte[], Image> predictor = model.newPredictor()) {
      Image decoded = predictor.predict(file);
      assertEquals(64, decoded.getWidth());
      assertEquals(64, decoded.getHeight());
      assertArrayEquals(Images.fromImage(Images.toImage(expectedDecoded)).toFloatArray(),
          Images.fromImage(decoded).toFloatArray(), "the decoded image equals TacoCodec.decompress's, as 8-bit RGB");
    }
  }

  @Test
  void aFolderWithoutOneWeightsFileIsRefusedByName() throws Exception {
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    WeightsException e = assertThrows(WeightsException.class, () -> TacoTranslatorFactory.weightsFile(empty, null));
    assertTrue(e.getMessage().contains("expected one weights file"), e.getMessage());
    Files.writeString(empty.resolve("a.pth"), "x");
    Files.writeString(empty.resolve("b.safetensors"), "x");
    e = assertThrows(WeightsException.class, () -> TacoTranslatorFactory.weightsFile(empty, null));
    assertTrue(e.getMessage().contains("found 2"), e.getMessage());
    assertEquals(empty.resolve("b.safetensors"), TacoTranslatorFactory.weightsFile(empty, "b.safetensors"));
  }
}
