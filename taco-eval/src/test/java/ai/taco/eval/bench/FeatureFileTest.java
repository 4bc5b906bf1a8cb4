package ai.taco.eval.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The incremental feature files: documented layout, and exactly the complete rows survive a crash. */
class FeatureFileTest {

  static float[] row(int k) {
    return new float[] {k, -k / 3f, Float.MIN_VALUE * k};
  }

  @Test
  void layoutIsRawLittleEndianFloat32PlusANameIndex(@TempDir Path tmp) throws Exception {
    try (FeatureFile f = FeatureFile.create(tmp, "p")) {
      f.append("a.png", row(1));
      f.append("b.png", row(2));
      // Written through at once (a crash after append keeps the row).
      assertEquals(2 * 3 * 4, Files.size(tmp.resolve("p.f32")));
    }
    assertEquals(List.of("# dim=3", "a.png", "b.png"), Files.readAllLines(tmp.resolve("p.txt")));
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(tmp.resolve("p.f32"))).order(ByteOrder.LITTLE_ENDIAN);
    for (int k = 1; k <= 2; k++) {
      float[] r = row(k);
      for (float v : r) {
        assertEquals(v, b.getFloat());
      }
    }
    try (FeatureFile f = FeatureFile.open(tmp, "p")) {
      assertEquals(List.of("a.png", "b.png"), List.copyOf(f.images()));
      assertArrayEquals(row(2), f.get("b.png"));
      assertThrows(BenchmarkException.class, () -> f.append("c.png", new float[] {1, 2}));
      assertThrows(BenchmarkException.class, () -> f.append("a.png", row(1)));
    }
  }

  @Test
  void aRowWithoutItsNameOrAPartialRowIsCutOff(@TempDir Path tmp) throws Exception {
    try (FeatureFile f = FeatureFile.create(tmp, "p")) {
      f.append("a.png", row(1));
      f.append("b.png", row(2));
    }
    byte[] data = Files.readAllBytes(tmp.resolve("p.f32"));
    byte[] index = Files.readAllBytes(tmp.resolve("p.txt"));
    // Crash 1: third row written, its name not; crash 2: half of a fourth row.
    Files.write(tmp.resolve("p.f32"), new byte[12 + 5], StandardOpenOption.APPEND);
    try (FeatureFile f = FeatureFile.open(tmp, "p")) {
      assertEquals(Set.of("a.png", "b.png"), f.images());
    }
    assertArrayEquals(data, Files.readAllBytes(tmp.resolve("p.f32")));
    // Crash 3: a name half written.
    Files.writeString(tmp.resolve("p.txt"), "c.p", StandardOpenOption.APPEND);
    try (FeatureFile f = FeatureFile.open(tmp, "p")) {
      assertEquals(Set.of("a.png", "b.png"), f.images());
      f.append("c.png", row(3));
    }
    try (FeatureFile f = FeatureFile.open(tmp, "p")) {
      assertEquals(List.of("a.png", "b.png", "c.png"), List.copyOf(f.images()));
      assertArrayEquals(row(3), f.get("c.png"));
    }
    assertEquals(new String(index) + "c.png\n", Files.readString(tmp.resolve("p.txt")));
  }

  @Test
  void retainDropsRowsOfUnrecordedResults(@TempDir Path tmp) throws Exception {
    try (FeatureFile f = FeatureFile.create(tmp, "p")) {
      f.append("a.png", row(1));
      f.append("b.png", row(2));
      f.append("c.png", row(3));
      f.retain(Set.of("a.png", "c.png"));
      f.append("b.png", row(4));
    }
    try (FeatureFile f = FeatureFile.open(tmp, "p")) {
      assertEquals(List.of("a.png", "c.png", "b.png"), List.copyOf(f.images()));
      assertArrayEquals(row(4), f.get("b.png"));
      assertArrayEquals(row(3), f.get("c.png"));
    }
    assertEquals(3 * 3 * 4, Files.size(tmp.resolve("p.f32")));
  }
}
