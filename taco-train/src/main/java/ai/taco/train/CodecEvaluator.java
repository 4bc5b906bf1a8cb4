package ai.taco.train;


import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.taco.core.CaptionEncoder;
import ai.taco.core.DecodeOptions;
import ai.taco.core.EncodeOptions;
import ai.taco.core.TacoCodec;
import ai.taco.core.TacoModel;
import ai.taco.core.bitstream.CompressAiFile;
import ai.taco.core.image.Images;
import ai.taco.core.tensor.HostTensor;
import ai.taco.train.data.CaptionedImage;
import ai.taco.train.data.CaptionedDataset;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * train.py's {@code test_epoch} with real bitstreams: a copy of the trained weights is loaded into a codec (which calls
 * update()), each test image is compressed to the official {@code .bin} layout and written, bpp is taken from the
 * file size, the file is read back and decoded, and PSNR, MS-SSIM and LPIPS are computed on the cropped, unclamped
 * reconstruction as the official code does (LPIPS as {@code loss_fn_alex(x, x_hat)}) by the given
 * {@link ReconstructionMetrics}.
 */
public final class CodecEvaluator implements EpochEvaluator {

  private static final Logger LOG = LoggerFactory.getLogger(CodecEvaluator.class);

  private final CaptionedDataset images;
  private final CaptionEncoder captions;
  private final ReconstructionMetrics metrics;

  /**
   * @param images test images with their captions (a folder + captions JSON: Kodak + kodak_ofa.json in the paper)
   * @param metrics PSNR, MS-SSIM and LPIPS of each reconstruction
   */
  public CodecEvaluator(CaptionedDataset images, CaptionEncoder captions, ReconstructionMetrics metrics) {
    this.images = images;
    this.captions = captions;
    this.metrics = metrics;
  }

  @Override
  public Result evaluate(TacoModel trained, int epoch, Path outDir) {
    try {
      Files.createDirectories(outDir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + outDir, e);
    }
    double sumBpp = 0;
    double sumPsnr = 0;
    double sumMsSsim = 0;
    double sumLpips = 0;
    int n = 0;
    try (TacoCodec codec = TacoCodec.builder().setWeights(trained.stateDict()).optConfig(trained.config()).build();
        NDManager m = NDManager.newBaseManager()) {
      for (CaptionedImage item : images.images()) {
        String name = item.path().getFileName().toString();
        HostTensor x = Images.read(item.path());
        int h = (int) x.shape()[2];
        int w = (int) x.shape()[3];
        String caption = item.captions().isEmpty() ? "" : item.captions().get(0);
        HostTensor text;
        try (NDScope scope = new NDScope()) {
          text = HostTensor.fromNDArray(captions.encode(m, List.of(caption)));
        }
        Path bin = outDir.resolve(name + ".bin");
        codec.compress(x, text, EncodeOptions.official()).write(bin, true);
        long bytes;
        try {
          bytes = Files.size(bin);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        double bpp = bytes * 8.0 / ((double) h * w);
        // Unclamped, as test_epoch measures net.decompress(...)["x_hat"]; the PNG below clamps when it quantises.
        HostTensor xHat = codec.decompress(CompressAiFile.read(bin), DecodeOptions.unclamped());
        ReconstructionMetrics.Values v = metrics.measure(x, xHat);
        double psnr = v.psnr();
        double msSsim = v.msSsim();
        double lp = v.lpips();
        Images.writePng(xHat, outDir.resolve(name.replaceFirst("\\.[^.]+$", "") + ".png"), true);
        LOG.info(String.format(Locale.ROOT, "test epoch %d, %s: PSNR %.4f, MS-SSIM %.4f, LPIPS %.4f, bpp %.4f",
            epoch + 1, name, psnr, msSsim, lp, bpp));
        sumBpp += bpp;
        sumPsnr += psnr;
        sumMsSsim += msSsim;
        sumLpips += lp;
        n++;
      }
    }
    return new Result(sumBpp / n, sumPsnr / n, sumMsSsim / n, sumLpips / n, n);
  }
}
