package ai.taco.train;

import ai.taco.core.TacoConfig;
import java.nio.file.Path;

/**
 * Hyper-parameters of a run (the official train.py flags) and where its outputs go.
 *
 * @param lrEpochs MultiStepLR milestones (train.py {@code --lr_epoch}; 45 48 in the paper)
 * @param maxSteps stop after this many optimizer steps in total (0: no limit), writing a resumable checkpoint
 * @param loaderThreads image decoding threads
 * @param prefetchBatches batches decoded ahead of the training step
 */
public record TrainOptions(
    String preset,
    TacoConfig config,
    double lambda,
    double lpipsCoefficient,
    double jointCoefficient,
    int epochs,
    double learningRate,
    double auxLearningRate,
    int batchSize,
    int patchHeight,
    int patchWidth,
    long seed,
    double clipMaxNorm,
    int[] lrEpochs,
    Path out,
    long maxSteps,
    int loaderThreads,
    int prefetchBatches) {

  /** The paper's defaults (train.py / Section 4): batch 4, 256×256 crops, Adam 1e-4 / aux 1e-3, ×0.1 at 45, 48. */
  public static TrainOptions defaults(String preset, Path out) {
    return new TrainOptions(
        preset, TacoConfig.preset(preset), 0.0004, 3.5, 0.0025, 50, 1e-4, 1e-3, 4, 256, 256, 100, 1.0,
        new int[] {45, 48}, out, 0, 2, 2);
  }

  public TrainOptions {
    lrEpochs = lrEpochs.clone();
    if (epochs <= 0 || batchSize <= 0 || patchHeight <= 0 || patchWidth <= 0) {
      throw new IllegalArgumentException("epochs, batch size and patch size must be positive");
    }
    if (patchHeight % 64 != 0 || patchWidth % 64 != 0) {
      // The network downsamples by 64 (gA ×16, hA ×4); the official training crops are 256×256.
      throw new IllegalArgumentException(
          "patch size must be a multiple of 64 (the network's total stride), got " + patchHeight + "x" + patchWidth);
    }
    if (maxSteps < 0 || loaderThreads <= 0 || prefetchBatches <= 0) {
      throw new IllegalArgumentException("max steps must be >= 0, loader threads and prefetch > 0");
    }
  }

  public TrainOptions withCoefficients(double lpips, double joint) {
    return new TrainOptions(preset, config, lambda, lpips, joint, epochs, learningRate, auxLearningRate, batchSize,
        patchHeight, patchWidth, seed, clipMaxNorm, lrEpochs, out, maxSteps, loaderThreads, prefetchBatches);
  }

  public TrainOptions withSteps(int epochs, long maxSteps) {
    return new TrainOptions(preset, config, lambda, lpipsCoefficient, jointCoefficient, epochs, learningRate,
        auxLearningRate, batchSize, patchHeight, patchWidth, seed, clipMaxNorm, lrEpochs, out, maxSteps,
        loaderThreads, prefetchBatches);
  }

  public TrainOptions withBatch(int batchSize, int patchHeight, int patchWidth) {
    return new TrainOptions(preset, config, lambda, lpipsCoefficient, jointCoefficient, epochs, learningRate,
        auxLearningRate, batchSize, patchHeight, patchWidth, seed, clipMaxNorm, lrEpochs, out, maxSteps,
        loaderThreads, prefetchBatches);
  }

  public TrainOptions withOut(Path out) {
    return new TrainOptions(preset, config, lambda, lpipsCoefficient, jointCoefficient, epochs, learningRate,
        auxLearningRate, batchSize, patchHeight, patchWidth, seed, clipMaxNorm, lrEpochs, out, maxSteps,
        loaderThreads, prefetchBatches);
  }

  public TrainOptions withSeed(long seed) {
    return new TrainOptions(preset, config, lambda, lpipsCoefficient, jointCoefficient, epochs, learningRate,
        auxLearningRate, batchSize, patchHeight, patchWidth, seed, clipMaxNorm, lrEpochs, out, maxSteps,
        loaderThreads, prefetchBatches);
  }
}
