package ai.taco.spark;

import ai.taco.eval.codec.CodecSpec;
import ai.taco.eval.bench.BenchmarkException;
import ai.taco.eval.options.CodecOptions;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code taco-spark decompress}: the table {@code compress} wrote (or a folder of {@code .taco}/{@code .bin} files)
 * back to PNGs, {@code OUT/<stem>.png}, with a status table {@code OUT/status.parquet} (one row per input, the
 * error of a bad one in it).
 */
@Command(name = "decompress", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Decompresses a taco-spark compress table, or every .taco/.bin file under a folder, to PNGs on Spark.")
public final class DecompressJob implements Callable<Integer> {

  /** The status table's name under --out. */
  public static final String STATUS = "status.parquet";

  static final String FILE_GLOB = "*.{taco,bin}";

  static final StructType SCHEMA = new StructType()
      .add("path", DataTypes.StringType, false)
      .add("png", DataTypes.StringType, true)
      .add("height", DataTypes.IntegerType, true)
      .add("width", DataTypes.IntegerType, true)
      .add("error", DataTypes.StringType, true);

  @Spec CommandSpec spec;

  @Mixin SparkOptions sparkOptions;

  /** The codec the files were made with, as {@code taco decompress} takes it. */
  @Mixin CodecOptions codec;

  @Option(names = "--in", required = true, paramLabel = "PATH",
      description = "A compress table (OUT/" + CompressJob.TABLE + ") or a folder of .taco/.bin files.")
  String in;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder for the PNGs (any Hadoop path).")
  String out;

  @Option(names = "--force", description = "Replace PNGs and the status table of an earlier run in --out.")
  boolean force;

  @Override
  public Integer call() {
    long t0 = System.nanoTime();
    SparkSession spark = sparkOptions.session("taco-spark decompress");
    HadoopFiles files = new HadoopFiles(spark);
    String status = HadoopFiles.child(out, STATUS);
    if (!force && files.exists(status)) {
      throw new BenchmarkException(out + " already holds " + STATUS + "; use --force to replace it");
    }
    Dataset<Row> inputs;
    if (files.isParquetTable(in)) {
      Dataset<Row> t = spark.read().parquet(in);
      inputs = t.select(functions.col("path"), functions.col("data"), functions.col("error"));
    } else {
      inputs = spark.read().format("binaryFile")
          .option("pathGlobFilter", FILE_GLOB)
          .option("recursiveFileLookup", "true")
          .load(in)
          .select(functions.col("path"), functions.col("content").as("data"),
              functions.lit(null).cast(DataTypes.StringType).as("error"));
    }
    long count = inputs.count();
    if (count == 0) {
      throw new BenchmarkException("nothing to decompress in " + in);
    }
    Settings s = new Settings(codec.spec(), codec.scaleTable(), out, files, sparkOptions.threadsPerTask(spark.sparkContext()),
        sparkOptions.failFirstAttemptOf);
    Dataset<Row> result = inputs.repartition(sparkOptions.partitions(spark.sparkContext(), count))
        .mapPartitions(new DecompressPartition(s), Encoders.row(SCHEMA));
    result.write().mode(force ? SaveMode.Overwrite : SaveMode.ErrorIfExists).parquet(status);
    Dataset<Row> written = spark.read().parquet(status);
    ObjectNode j = new ObjectMapper().createObjectNode();
    j.put("in", in);
    j.put("out", out);
    j.put("inputs", written.count());
    j.put("errors", written.where(functions.col("error").isNotNull()).count());
    j.put("seconds", (System.nanoTime() - t0) / 1e9);
    spec.commandLine().getOut().println(j.toPrettyString());
    spec.commandLine().getOut().flush();
    return 0;
  }

  record Settings(CodecSpec codec, String scaleTable, String out, HadoopFiles files,
      int threadsPerTask, int failFirstAttemptOf) implements Serializable {}

  /** One partition: each file decoded to a PNG, or a status row with the error. */
  static final class DecompressPartition implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    private final Settings s;

    DecompressPartition(Settings s) {
      this.s = s;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
      TaskSetup.beginTask(s.threadsPerTask(), s.failFirstAttemptOf());
      List<Row> out = new ArrayList<>();
      while (rows.hasNext()) {
        Row r = rows.next();
        String path = r.getString(0);
        if (!r.isNullAt(2)) {
          out.add(RowFactory.create(path, null, null, null, "not compressed: " + r.getString(2)));
          continue;
        }
        String png = HadoopFiles.child(s.out(), HadoopFiles.stem(HadoopFiles.fileName(path)) + ".png");
        try {
          CodecHolder.Decompressed d = CodecHolder.decompress(s.codec(), s.scaleTable(),
              (byte[]) r.get(1));
          s.files().write(png, d.png());
          out.add(RowFactory.create(path, png, d.height(), d.width(), null));
        } catch (RuntimeException e) {
          out.add(RowFactory.create(path, null, null, null, CompressJob.errorText(e)));
        }
      }
      return out.iterator();
    }
  }
}
