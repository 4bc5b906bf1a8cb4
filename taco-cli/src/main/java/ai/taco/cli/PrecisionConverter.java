package ai.taco.cli;

import ai.taco.core.tensor.Precision;
import picocli.CommandLine.ITypeConverter;

/** picocli converter of the {@code --precision} options: fp32, bf16 or fp16 ({@link Precision#parse}). */
final class PrecisionConverter implements ITypeConverter<Precision> {
  @Override
  public Precision convert(String value) {
    return Precision.parse(value);
  }
}
