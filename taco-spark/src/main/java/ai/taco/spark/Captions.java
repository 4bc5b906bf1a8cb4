package ai.taco.spark;

import ai.taco.eval.bench.BenchmarkException;
import ai.taco.eval.bench.EvalDataset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The optional caption table of batch compression, as (name, caption) rows keyed by image file name: a COCO
 * captions JSON or {@code {"file": "caption"}} JSON (read as {@code taco eval} reads them: for COCO the caption with
 * the smallest annotation id), or a CSV (with a header) / Parquet table with a caption column and an image column.
 */
final class Captions {

  /** Column names accepted for the image key, first match wins; a path keeps only its file name. */
  static final List<String> KEY_COLUMNS = List.of("file_name", "image", "name", "path");

  static final StructType SCHEMA = new StructType()
      .add("caption_key", DataTypes.StringType, false)
      .add("caption", DataTypes.StringType, false);

  private Captions() {}

  static Dataset<Row> read(SparkSession spark, String file) {
    String lower = file.toLowerCase(Locale.ROOT);
    if (lower.endsWith(".json")) {
      // Read on the driver: TACO's JSON caption files are small (MS-COCO val2014: ~20 MB).
      Map<String, String> caps = EvalDataset.readCaptions(Path.of(file));
      List<Row> rows = new ArrayList<>();
      caps.forEach((k, v) -> rows.add(RowFactory.create(k, v)));
      return spark.createDataFrame(rows, SCHEMA);
    }
    Dataset<Row> t;
    if (lower.endsWith(".csv")) {
      t = spark.read().option("header", "true").option("multiLine", "true").option("escape", "\"").csv(file);
    } else if (lower.endsWith(".parquet") || !lower.contains(".")) {
      t = spark.read().parquet(file);
    } else {
      throw new BenchmarkException("--captions " + file + ": expected .json (COCO or {\"file\": \"caption\"}), .csv"
          + " or .parquet");
    }
    List<String> cols = Arrays.asList(t.columns());
    String key = KEY_COLUMNS.stream().filter(cols::contains).findFirst().orElseThrow(
        () -> new BenchmarkException("--captions " + file + ": no image column (one of " + KEY_COLUMNS + ") in "
            + cols));
    if (!cols.contains("caption")) {
      throw new BenchmarkException("--captions " + file + ": no 'caption' column in " + cols);
    }
    // One caption per image: the first in the table's order is not defined on a cluster, so take the smallest.
    return t.select(functions.element_at(functions.split(functions.col(key).cast("string"), "/"), -1)
            .as("caption_key"), functions.col("caption").cast("string").as("caption"))
        .where(functions.col("caption").isNotNull())
        .groupBy("caption_key").agg(functions.min("caption").as("caption"));
  }
}
