package ai.taco.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.types.DataType;
import ai.taco.core.image.Images;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.testing.Golden;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The synthetic benchmark image tiled from bytes is the one tiled from floats, divided by 255. */
class KodakTilingTest {
  @Test
  void bytesTileAsFloatsDo() {
    Path png = Golden.golden("taco-small/img0_64x64.png");
    HostTensor bytes = KodakTiling.tile(Images.readCompact(png), 150, 70); // mirrored seams in both directions
    HostTensor floats = KodakTiling.tile(Images.read(png), 150, 70);
    assertEquals(DataType.UINT8, bytes.dataType());
    assertEquals(DataType.FLOAT32, floats.dataType());
    assertArrayEquals(new long[] {1, 3, 70, 150}, bytes.shape());
    long[] b = bytes.toLongArray();
    float[] scaled = new float[b.length];
    for (int i = 0; i < b.length; i++) {
      scaled[i] = b[i] / 255f;
    }
    assertArrayEquals(floats.toFloatArray(), scaled);
  }
}
