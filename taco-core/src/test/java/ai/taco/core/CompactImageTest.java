package ai.taco.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.taco.core.image.Images;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import ai.taco.testing.ReferenceData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * UINT8 images ({@link Images#readCompact}) in the codec: libtorch's float32 {@code v / 255} equals Java's {@code v /
 * 255f} for every byte, so an image read compact codes to the bitstream of the same image read as floats.
 */
class CompactImageTest {
  @Test
  void everyByteConvertsToTheFloatImagesReadGives() {
    int n = 3 * 16 * 16; // every value 0..255 three times, as a [1,3,16,16] image
    byte[] v = new byte[n];
    for (int i = 0; i < n; i++) {
      v[i] = (byte) i;
    }
    try (NDManager m = NDManager.newBaseManager()) {
      float[] f = TacoCodec.toFloatImage(HostTensor.ofBytes(v, 1, 3, 16, 16), m).toFloatArray();
      for (int i = 0; i < n; i++) {
        int b = i & 0xff;
        assertEquals(Float.floatToRawIntBits(b / 255f), Float.floatToRawIntBits(f[i]), "byte " + b);
      }
    }
  }

  @Test
  void compactImagesGiveTheBitstreamsOfFloatImages() throws Exception {
    Path weights = Golden.golden("taco-small/checkpoint.pth.tar");
    try (TacoCodec codec = TacoCodec.builder().setWeights(weights).build()) {
      for (String name : new String[] {"img0_64x64", "img1_128x192"}) {
        Path png = Golden.golden("taco-small/" + name + ".png");
        HostTensor compact = Images.readCompact(png);
        assertEquals(DataType.UINT8, compact.dataType());
        HostTensor text = Golden.tensors("taco-small/" + name + ".safetensors").get("text_embeddings");
        byte[] official = Files.readAllBytes(Golden.golden("taco-small/" + name + ".bin"));
        assertArrayEquals(official, codec.compress(compact, text, EncodeOptions.official()).toBytes(), name);
        assertArrayEquals(codec.compress(Images.read(png), text).toBytes(), codec.compress(compact, text).toBytes(),
            name);
      }
      // A Kodak photograph (768×512, every byte value in use), twice: the host bytes freed after conversion are
      // never read again.
      Path kodak = ReferenceData.data("kodak/kodim01.png");
      Map<String, HostTensor> g = Golden.tensors("taco-small/img0_64x64.safetensors");
      byte[] floats = codec.compress(Images.read(kodak), g.get("text_embeddings")).toBytes();
      HostTensor compact = Images.readCompact(kodak);
      for (int run = 0; run < 2; run++) {
        assertArrayEquals(floats, codec.compress(compact, g.get("text_embeddings")).toBytes(), "kodim01 run " + run);
      }
    }
  }
}
