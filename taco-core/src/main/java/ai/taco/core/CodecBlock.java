package ai.taco.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.taco.core.bitstream.CodedImage;
import ai.taco.core.tensor.HostTensor;

/**
 * A {@link TacoCodec} as a DJL block, the model of a {@link TacoTranslatorFactory} model: {@code [x, text]} (image
 * float32 {@code [1,3,H,W]} in [0,1], caption features {@code [1,38,textDim]}) gives {@code [file]}, the bytes of the
 * {@link ai.taco.core.bitstream.TacoFile} {@link TacoCodec#compress} writes, as INT8; {@code [file]} (INT8 or UINT8,
 * either file kind) gives {@code [x̂]}, the decoded image float32 {@code [1,3,H,W]} in [0,1]. The codec's parameters
 * are not DJL parameters: the block has none, and the codec owns and frees its weights ({@link #close}).
 */
final class CodecBlock extends AbstractBlock implements AutoCloseable {
  private static final byte VERSION = 1;

  private final TacoCodec codec;

  CodecBlock(TacoCodec codec) {
    super(VERSION);
    this.codec = codec;
  }

  TacoCodec codec() {
    return codec;
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore parameterStore, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray first = inputs.head();
    if (first.getDataType() == DataType.INT8 || first.getDataType() == DataType.UINT8) {
      CodedImage file = CodedImage.parse(first.toByteArray());
      HostTensor decoded = codec.decompress(file);
      return new NDList(decoded.toNDArray(first.getManager()));
    }
    if (inputs.size() != 2) {
      throw new IllegalArgumentException("compressing takes [image, caption features], got " + inputs.size()
          + " arrays");
    }
    byte[] file = codec.compress(HostTensor.fromNDArray(first), HostTensor.fromNDArray(inputs.get(1))).toBytes();
    return new NDList(first.getManager().create(file));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    // Data-dependent: a file's length is known once it is coded, an image's size once its header is read.
    return new Shape[] {new Shape(-1)};
  }

  @Override
  public void close() {
    codec.close();
  }
}
