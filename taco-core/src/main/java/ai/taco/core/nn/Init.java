package ai.taco.core.nn;

import java.util.SplittableRandom;

/**
 * How a freshly created parameter is filled, mirroring the PyTorch initialisers the official code ends up with
 * (module defaults plus TACO's explicit {@code kaiming_normal_} / zero {@code gamma}). Draws come from a seeded
 * {@link SplittableRandom}, so {@code TacoModel.create(config, manager, seed)} is reproducible; the values follow the
 * same distributions as torch, not torch's random stream.
 */
public sealed interface Init {

  /** Fills {@code out} (row-major, of a tensor with {@code shape}) from {@code rng}. */
  void fill(float[] out, long[] shape, SplittableRandom rng);

  /** PyTorch's fan_in of a weight tensor: size(1) times the receptive field (torch.nn.init._calculate_fan_in_and_fan_out). */
  static long fanIn(long[] shape) {
    long f = shape.length > 1 ? shape[1] : shape[0];
    for (int i = 2; i < shape.length; i++) {
      f *= shape[i];
    }
    return f;
  }

  /** PyTorch's fan_out of a weight tensor: size(0) times the receptive field. */
  static long fanOut(long[] shape) {
    long f = shape[0];
    for (int i = 2; i < shape.length; i++) {
      f *= shape[i];
    }
    return f;
  }

  /** U(-bound, bound); conv/linear defaults use bound = 1/sqrt(fan_in) (kaiming_uniform_ with a=sqrt(5)). */
  record Uniform(double low, double high) implements Init {
    /** torch's default for Conv/Linear weights and biases: U(±1/sqrt(fanIn)). */
    public static Uniform torchDefault(long fanIn) {
      double bound = fanIn > 0 ? 1.0 / Math.sqrt(fanIn) : 0;
      return new Uniform(-bound, bound);
    }

    @Override
    public void fill(float[] out, long[] shape, SplittableRandom rng) {
      for (int i = 0; i < out.length; i++) {
        out[i] = (float) (low + (high - low) * rng.nextDouble());
      }
    }
  }

  /** N(0, std²); {@code kaimingNormal} is torch.nn.init.kaiming_normal_ (fan_in, ReLU gain sqrt(2)). */
  record Normal(double std) implements Init {
    public static Normal kaimingNormal(long fanIn) {
      return new Normal(Math.sqrt(2.0 / fanIn));
    }

    @Override
    public void fill(float[] out, long[] shape, SplittableRandom rng) {
      for (int i = 0; i < out.length; i += 2) {
        // Box-Muller, two values per pair of uniforms.
        double u1 = 1.0 - rng.nextDouble();
        double u2 = rng.nextDouble();
        double r = Math.sqrt(-2 * Math.log(u1));
        out[i] = (float) (std * r * Math.cos(2 * Math.PI * u2));
        if (i + 1 < out.length) {
          out[i + 1] = (float) (std * r * Math.sin(2 * Math.PI * u2));
        }
      }
    }
  }

  /** torch.nn.init.xavier_uniform_: U(±sqrt(6/(fan_in+fan_out))); MultiheadAttention's in_proj_weight. */
  record XavierUniform() implements Init {
    @Override
    public void fill(float[] out, long[] shape, SplittableRandom rng) {
      double bound = Math.sqrt(6.0 / (fanIn(shape) + fanOut(shape)));
      new Uniform(-bound, bound).fill(out, shape, rng);
    }
  }

  /** Every element = value (LayerNorm weight 1 / bias 0, MHA biases 0, Injector gamma 0). */
  record Constant(double value) implements Init {
    @Override
    public void fill(float[] out, long[] shape, SplittableRandom rng) {
      java.util.Arrays.fill(out, (float) value);
    }
  }

  /** Values repeat along the last axis (e.g. EntropyBottleneck quantiles [-s, 0, s] per channel). */
  record LastAxis(float[] values) implements Init {
    @Override
    public void fill(float[] out, long[] shape, SplittableRandom rng) {
      for (int i = 0; i < out.length; i++) {
        out[i] = values[i % values.length];
      }
    }
  }
}
