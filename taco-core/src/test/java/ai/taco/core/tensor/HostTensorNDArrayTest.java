package ai.taco.core.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class HostTensorNDArrayTest {
  @Test
  void convertsToAndFromNDArrays() {
    try (NDManager m = NDManager.newBaseManager()) {
      HostTensor f = HostTensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
      NDArray a = f.toNDArray(m);
      assertArrayEquals(new long[] {2, 3}, a.getShape().getShape());
      assertEquals(DataType.FLOAT32, a.getDataType());
      assertArrayEquals(new float[] {5, 7, 9}, a.sum(new int[] {0}).toFloatArray());
      HostTensor back = HostTensor.fromNDArray(a.mul(2));
      assertArrayEquals(new float[] {2, 4, 6, 8, 10, 12}, back.toFloatArray());

      ByteBuffer bf = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
      bf.putShort((short) 0x3FC0).putShort((short) 0xC040).flip();
      NDArray widened = new HostTensor(DataType.BFLOAT16, new long[] {2}, bf).toNDArray(m);
      assertEquals(DataType.FLOAT32, widened.getDataType());
      assertArrayEquals(new float[] {1.5f, -3f}, widened.toFloatArray());

      HostTensor l = HostTensor.ofLongs(new long[] {-1, 1L << 40}, 2);
      assertArrayEquals(new long[] {-1, 1L << 40}, l.toNDArray(m).toLongArray());
    }
  }
}
