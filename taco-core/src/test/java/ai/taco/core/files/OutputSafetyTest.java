package ai.taco.core.files;

import ai.taco.core.bitstream.TacoFile;
import ai.taco.core.error.BitstreamException;
import ai.taco.core.error.ImageException;
import ai.taco.core.error.WeightsException;
import ai.taco.core.image.Images;
import ai.taco.core.tensor.HostTensor;
import ai.taco.core.weights.SafeTensors;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.taco.core.bitstream.ScaleTable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writers replace only regular files, say why they cannot write, and clean up temporaries of killed writers. */
class OutputSafetyTest {
  @TempDir Path tmp;

  private static final TacoFile FILE =
      new TacoFile(ScaleTable.TORCH1, new byte[16], 64, 64, 1, 1, 0, 0, new byte[8], new byte[8]);

  @Test
  void symbolicLinksAreRefusedAndLeftAsTheyWere() throws IOException {
    Path target = Files.write(tmp.resolve("target.taco"), new byte[] {1, 2, 3});
    Path link = Files.createSymbolicLink(tmp.resolve("link.taco"), target);
    BitstreamException e = assertThrows(BitstreamException.class, () -> FILE.write(link, true));
    assertTrue(e.getMessage().contains("is a symbolic link"), e.getMessage());
    assertTrue(Files.isSymbolicLink(link));
    assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(target));
    Path dangling = Files.createSymbolicLink(tmp.resolve("dangling.png"), tmp.resolve("nowhere"));
    assertThrows(ImageException.class, () -> Images.writePng(new float[3], 1, 1, dangling, false));
    assertFalse(Files.exists(tmp.resolve("nowhere")));
  }

  @Test
  void devicesAndFifosAreNeverReplaced() throws IOException, InterruptedException {
    // /dev/null is only checked (never written, whoever runs the test).
    assertTrue(OutputFiles.problem(Path.of("/dev/null"), true, false).contains("is not a regular file"));
    Path fifo = tmp.resolve("fifo");
    Assumptions.assumeTrue(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0);
    BitstreamException e = assertThrows(BitstreamException.class, () -> FILE.write(fifo, true));
    assertTrue(e.getMessage().contains("is not a regular file"), e.getMessage());
    assertFalse(Files.isRegularFile(fifo, LinkOption.NOFOLLOW_LINKS));
    WeightsException w = assertThrows(WeightsException.class,
        () -> SafeTensors.write(fifo, Map.of("t", HostTensor.ofFloats(new float[] {1}, 1)), Map.of()));
    assertTrue(w.getMessage().contains("is not a regular file"), w.getMessage());
  }

  @Test
  void aParentThatIsAFileOrAReadOnlyDirectoryIsNamed() throws IOException {
    Path plain = Files.write(tmp.resolve("plain"), new byte[1]);
    BitstreamException e = assertThrows(BitstreamException.class, () -> FILE.write(plain.resolve("x.taco"), false));
    assertTrue(e.getMessage().contains(plain + " is a file, not a directory"), e.getMessage());
    assertTrue(OutputFiles.problem(tmp.resolve("missing/x.taco"), false, false).contains("does not exist"));
    Path ro = Files.createDirectory(tmp.resolve("ro"));
    Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));
    try {
      Assumptions.assumeFalse(Files.isWritable(ro), "running as root: every directory is writable");
      e = assertThrows(BitstreamException.class, () -> FILE.write(ro.resolve("x.taco"), false));
      assertTrue(e.getMessage().contains("is not writable"), e.getMessage());
    } finally {
      Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
  }

  @Test
  void staleTemporariesOfTheSameTargetAreRemovedYoungOnesKept() throws IOException {
    Path old = Files.write(tmp.resolve(".x.taco.3k9z1q.tmp"), new byte[1]);
    Files.setLastModifiedTime(old, FileTime.from(Instant.now().minus(AtomicFiles.STALE_TEMP_AGE).minusSeconds(60)));
    Path young = Files.write(tmp.resolve(".x.taco.7abc.tmp"), new byte[1]);
    Path otherTarget = Files.write(tmp.resolve(".y.taco.3k9z1q.tmp"), new byte[1]);
    Path notOurs = Files.write(tmp.resolve(".x.taco.NOT-OURS.tmp"), new byte[1]);
    for (Path p : new Path[] {otherTarget, notOurs}) {
      Files.setLastModifiedTime(p, FileTime.from(Instant.EPOCH));
    }
    FILE.write(tmp.resolve("x.taco"), false);
    assertFalse(Files.exists(old));
    assertTrue(Files.exists(young) && Files.exists(otherTarget) && Files.exists(notOurs));
    assertEquals(FILE, TacoFile.read(tmp.resolve("x.taco")));
  }
}
