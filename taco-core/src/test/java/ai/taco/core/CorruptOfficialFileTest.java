package ai.taco.core;

import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.taco.core.bitstream.CompressAiFile;
import ai.taco.core.error.BitstreamException;
import ai.taco.core.image.Images;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;

/**
 * The official .bin has no checksum, so damage inside the y string must be caught by the decoder itself: a valid
 * stream is used up exactly when the last symbol is decoded.
 */
class CorruptOfficialFileTest {
  @Test
  void damagedYStringIsRefusedNotDecodedIntoGarbage() throws Exception {
    byte[] bin = Files.readAllBytes(Golden.golden("taco-small/img0_64x64.bin"));
    try (TacoCodec codec =
        TacoCodec.builder().setWeights(Golden.tacoSmallWeights()).optConfig(TacoConfig.SMALL)
            .build()) {
      // The intact file still decodes to the official reconstruction.
      HostTensor ok = codec.decompress(CompressAiFile.parse(bin));
      HostTensor official = Images.read(Golden.golden("taco-small/img0_64x64.x_hat.png"));
      float[] a = ok.toFloatArray();
      for (int i = 0; i < a.length; i++) {
        a[i] = Math.round(Math.max(0, Math.min(1, a[i])) * 255f) / 255f;
      }
      Golden.assertSame8BitImage(
          Golden.tensors("taco-small/img0_64x64.safetensors").get("decompress.x_hat_cropped").toFloatArray(),
          official.toFloatArray(), a, "img0 decoded");
      // Header 28 bytes (H, W, z_h, z_w, 2 strings, len(y)); these offsets fall inside the 1920-byte y string and
      // were decoded silently before the end-of-stream check.
      for (int offset : new int[] {30, 200, 1000}) {
        byte[] bad = bin.clone();
        bad[offset] ^= (byte) 0x5a;
        assertThrows(BitstreamException.class, () -> codec.decompress(CompressAiFile.parse(bad)), "byte " + offset);
      }
    }
  }
}
