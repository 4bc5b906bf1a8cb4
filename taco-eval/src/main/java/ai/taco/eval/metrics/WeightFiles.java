package ai.taco.eval.metrics;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Reads a state dict (safetensors, or a torch.save zip) into named NDArrays owned by {@code manager}. */
final class WeightFiles {
  private WeightFiles() {}

  static Map<String, NDArray> read(Path path, NDManager manager) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(path);
    } catch (NoSuchFileException e) {
      throw new MetricException("weights file not found: " + path);
    } catch (IOException e) {
      throw new MetricException("cannot read weights file " + path + ": " + e.getMessage(), e);
    }
    if (bytes.length > 9 && bytes[8] == '{') {
      Map<String, NDArray> out = new LinkedHashMap<>();
      NDList list;
      try {
        list = NDList.decode(manager, bytes);
      } catch (RuntimeException e) {
        throw new MetricException("corrupt safetensors file " + path + ": " + e.getMessage(), e);
      }
      for (NDArray a : list) {
        out.put(a.getName(), a);
      }
      return out;
    }
    if (bytes.length > 4 && bytes[0] == 'P' && bytes[1] == 'K') {
      throw new MetricException("reading torch .pth files (" + path + ") needs ai.taco.core.io.TorchCheckpoint, "
          + "not yet merged; convert to safetensors meanwhile");
    }
    throw new MetricException(path + " is neither a safetensors file nor a torch .pth (zip) checkpoint");
  }
}
