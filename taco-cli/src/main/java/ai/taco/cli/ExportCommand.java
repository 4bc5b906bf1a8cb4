package ai.taco.cli;

import ai.taco.core.weights.SafeTensors;
import ai.taco.train.TrainCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code taco export}: the model of a training checkpoint as a plain safetensors state dict with the official TACO
 * key names (loadable by TacoCodec and, with {@code load_state_dict(strict=False)} + {@code update()}, by the
 * official PyTorch code; docs/training.md).
 */
@Command(
    name = "export",
    mixinStandardHelpOptions = true,
    description = "Export a training checkpoint's model weights to safetensors (official TACO key names).")
public final class ExportCommand implements TacoCommand {

  @Option(names = "--checkpoint", required = true, description = "training checkpoint (taco train output)")
  Path checkpoint;

  @Option(names = "--out", required = true, description = "output .safetensors file")
  Path out;

  @Option(names = "--force", description = "overwrite --out if it exists")
  boolean force;

  @Override
  public Integer call() throws Exception {
    if (Files.exists(out) && !force) {
      throw new IllegalArgumentException(out + " exists; pass --force to overwrite it");
    }
    TrainCheckpoint ck = TrainCheckpoint.read(checkpoint);
    export(ck, out);
    System.out.println("{\"tensors\": " + ck.model().size() + ", \"out\": \"" + out.toString().replace("\"", "\\\"")
        + "\"}");
    return 0;
  }

  /** Writes {@code ck}'s model state dict to {@code out} (atomically) with its provenance as metadata. */
  public static void export(TrainCheckpoint ck, Path out) throws java.io.IOException {
    Map<String, String> meta = new LinkedHashMap<>(ck.info());
    meta.put("note", "TACO state_dict (official key names, no 'module.' prefix); CDF buffers empty: call update()");
    meta.put("epoch", Integer.toString(ck.progress().epoch()));
    meta.put("step", Long.toString(ck.progress().step()));
    SafeTensors.write(out, ck.model(), meta);
  }
}
