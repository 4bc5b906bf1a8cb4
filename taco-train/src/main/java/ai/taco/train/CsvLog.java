package ai.taco.train;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/** Appends metric rows to a CSV file (header written once); flushed per row so a crash loses nothing. */
final class CsvLog implements AutoCloseable {

  static final String STEP_HEADER = "step,epoch,loss,bpp_loss,mse_loss,lpips_loss,joint_image_text_loss,aux_loss,"
      + "grad_norm,learning_rate";
  static final String EPOCH_HEADER = "epoch,mean_loss,steps,test_bpp,test_psnr,test_ms_ssim,test_lpips,"
      + "learning_rate";

  private final BufferedWriter w;

  CsvLog(Path file, String header) {
    try {
      boolean fresh = !Files.exists(file) || Files.size(file) == 0;
      w = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      if (fresh) {
        w.write(header);
        w.newLine();
        w.flush();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open " + file, e);
    }
  }

  void row(Object... values) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < values.length; i++) {
      if (i > 0) {
        sb.append(',');
      }
      Object v = values[i];
      if (v instanceof Double d) {
        sb.append(Double.isNaN(d) ? "" : String.format(Locale.ROOT, "%.8g", d));
      } else {
        sb.append(v);
      }
    }
    try {
      w.write(sb.toString());
      w.newLine();
      w.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    try {
      w.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
