package ai.taco.core.files;

import ai.taco.core.bitstream.CompressAiFile;
import ai.taco.core.bitstream.TacoFile;
import ai.taco.core.error.BitstreamException;
import ai.taco.core.error.ImageException;
import ai.taco.core.error.WeightsException;
import ai.taco.core.image.Images;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.SafeTensors;
import ai.taco.core.weights.StateDict;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.taco.core.error.TacoException;
import ai.taco.core.bitstream.ScaleTable;
import ai.taco.core.testing.Golden;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile inputs to the file readers and writers: every failure is a {@link TacoException} subclass naming the file,
 * never a raw runtime exception, and writers never replace a directory or leave owner-only files.
 */
class BadInputTest {
  @TempDir Path tmp;

  /** A one-tensor safetensors file whose header is {@code json}, followed by {@code dataBytes} zero bytes. */
  private Path safetensors(String name, String json, int dataBytes) throws IOException {
    byte[] h = json.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h);
    Path p = tmp.resolve(name);
    Files.write(p, b.array());
    return p;
  }

  @Test
  void safetensorsHeadersWithImpossibleShapesNameFileAndTensor() throws IOException {
    String[] shapes = {"[-1,38,512]", "[1.5,4]", "[\"a\"]", "[4294967296,4294967296,4294967296]"};
    for (int i = 0; i < shapes.length; i++) {
      Path p = safetensors("s" + i + ".safetensors",
          "{\"t\":{\"dtype\":\"F32\",\"shape\":" + shapes[i] + ",\"data_offsets\":[0,4]}}", 4);
      WeightsException e = assertThrows(WeightsException.class, () -> SafeTensors.read(p), shapes[i]);
      assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("'t'"), e.getMessage());
    }
  }

  @Test
  void directoriesAreNamedAsSuch() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("weights"));
    WeightsException e = assertThrows(WeightsException.class, () -> StateDict.load(dir));
    assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
  }

  @Test
  void writersNeverReplaceADirectoryEvenWhenOverwriting() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("out"));
    TacoFile f = new TacoFile(ScaleTable.TORCH1, new byte[16], 64, 64, 1, 1, 0, 0, new byte[8], new byte[8]);
    assertTrue(assertThrows(BitstreamException.class, () -> f.write(dir, true)).getMessage().contains("directory"));
    assertThrows(BitstreamException.class,
        () -> CompressAiFile.of(64, 64, 1, 1, new byte[8], new byte[8]).write(dir, true));
    assertThrows(ImageException.class, () -> Images.writePng(new float[3], 1, 1, dir, true));
    Map<String, HostTensor> t = Map.of("a", HostTensor.ofFloats(new float[] {1}, 1));
    assertThrows(WeightsException.class, () -> SafeTensors.write(dir, t, Map.of()));
    assertTrue(Files.isDirectory(dir), "the directory is still there");
    try (var s = Files.list(tmp)) {
      assertEquals(1, s.count(), "no temporary file left behind");
    }
  }

  @Test
  void writtenFilesGetTheUsualPermissionsNotOwnerOnly() throws IOException {
    Path plain = Files.createFile(tmp.resolve("plain"));
    Set<PosixFilePermission> usual = Files.getPosixFilePermissions(plain);
    Path taco = tmp.resolve("a.taco");
    new TacoFile(ScaleTable.TORCH1, new byte[16], 64, 64, 1, 1, 0, 0, new byte[8], new byte[8]).write(taco, false);
    Path png = tmp.resolve("a.png");
    Images.writePng(new float[3], 1, 1, png, false);
    Path st = tmp.resolve("a.safetensors");
    SafeTensors.write(st, Map.of("a", HostTensor.ofFloats(new float[] {1}, 1)), Map.of());
    for (Path p : new Path[] {taco, png, st}) {
      assertEquals(usual, Files.getPosixFilePermissions(p), p.toString());
    }
    // Overwriting keeps the replaced file's permissions.
    Set<PosixFilePermission> custom = Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
        PosixFilePermission.GROUP_READ);
    Files.setPosixFilePermissions(png, custom);
    Images.writePng(new float[] {1, 1, 1}, 1, 1, png, true);
    assertEquals(custom, Files.getPosixFilePermissions(png));
  }

  @Test
  void corruptedCheckpointsGiveWeightsExceptions() throws IOException {
    byte[] good = Files.readAllBytes(Golden.golden("taco-small/checkpoint.pth.tar"));
    Random r = new Random(7);
    int cases = 0;
    // Truncations anywhere, and damaged bytes in the zip directory and the pickle (the first and last kilobytes).
    for (int i = 0; i < 12; i++) {
      byte[] b = Arrays.copyOf(good, r.nextInt(good.length));
      cases += expectTypedOrSuccess(b, "truncated to " + b.length);
    }
    for (int i = 0; i < 24; i++) {
      byte[] b = good.clone();
      int pos = i % 2 == 0 ? r.nextInt(1024) : good.length - 1 - r.nextInt(1024);
      b[pos] ^= (byte) (1 + r.nextInt(255));
      cases += expectTypedOrSuccess(b, "byte " + pos + " changed");
    }
    assertTrue(cases >= 12, "at least every truncation was refused (" + cases + " refusals)");
  }

  /** Loads {@code bytes} as a checkpoint: 1 if refused with a WeightsException, 0 if it loaded; fails otherwise. */
  private int expectTypedOrSuccess(byte[] bytes, String what) throws IOException {
    Path p = tmp.resolve("c.pth.tar");
    Files.write(p, bytes);
    try {
      StateDict.load(p);
      return 0;
    } catch (WeightsException e) {
      assertTrue(e.getMessage().contains(p.toString()), what + ": " + e.getMessage());
      return 1;
    } catch (RuntimeException e) {
      fail(what + ": untyped " + e, e);
      return -1;
    }
  }
}
