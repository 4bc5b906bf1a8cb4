package ai.taco.core.clip;

import ai.taco.core.testing.Golden;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** The 41 golden captions of tokens.json, in file order. */
record JsonCaptions(List<String> names, List<String> texts) {
  static JsonCaptions golden() {
    JsonNode c = Golden.json("clip/tokens.json").get("captions");
    List<String> names = new ArrayList<>();
    List<String> texts = new ArrayList<>();
    c.forEach(
        n -> {
          names.add(n.get("name").asText());
          texts.add(n.get("text").asText());
        });
    return new JsonCaptions(names, texts);
  }
}
