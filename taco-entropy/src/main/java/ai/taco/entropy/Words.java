package ai.taco.entropy;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** Conversions between the coder's 32-bit words and bytes: little-endian, as the reference writes them on x86. */
final class Words {
  private Words() {}

  private static final VarHandle INT_LE =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

  /** {@code count} words from {@code words[from..]} as 4 * count little-endian bytes. */
  static byte[] toBytes(int[] words, int from, int count) {
    byte[] bytes = new byte[count * 4];
    for (int i = 0; i < count; i++) {
      INT_LE.set(bytes, i * 4, words[from + i]);
    }
    return bytes;
  }

  /** The whole 32-bit words of {@code bytes[offset .. offset+length)} (a trailing partial word is left out). */
  static int[] fromBytes(byte[] bytes, int offset, int length) {
    int[] words = new int[length / 4];
    for (int i = 0; i < words.length; i++) {
      words[i] = (int) INT_LE.get(bytes, offset + i * 4);
    }
    return words;
  }
}
