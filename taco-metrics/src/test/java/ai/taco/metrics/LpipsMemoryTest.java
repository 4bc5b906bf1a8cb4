package ai.taco.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.taco.core.testing.Golden;
import java.lang.reflect.Field;
import org.junit.jupiter.api.Test;

/** {@link Lpips#distance} frees every temporary: neither the caller's manager nor the model's grows over many calls. */
class LpipsMemoryTest {
  @Test
  void repeatedDistancesLeaveNoArraysBehind() throws Exception {
    try (Lpips lpips = Lpips.load(Golden.golden("lpips/lpips-alex-randtrunk.safetensors"));
        NDManager caller = NDManager.newBaseManager()) {
      Field f = Lpips.class.getDeclaredField("manager");
      f.setAccessible(true);
      NDManager owned = (NDManager) f.get(lpips);
      NDArray x0 = caller.randomUniform(0f, 1f, new Shape(2, 3, 64, 64));
      NDArray x1 = caller.randomUniform(0f, 1f, new Shape(2, 3, 64, 64));
      float[] first = lpips.distance(x0, x1, Lpips.InputConvention.STANDARD);
      int ownedArrays = owned.getManagedArrays().size();
      for (int i = 0; i < 20; i++) {
        float[] d = lpips.distance(x0, x1, Lpips.InputConvention.STANDARD);
        assertEquals(first[0], d[0], 0f);
      }
      assertEquals(2, caller.getManagedArrays().size(), "only the two inputs remain on the caller's manager");
      assertEquals(ownedArrays, owned.getManagedArrays().size(), "the model's own arrays");
    }
  }
}
