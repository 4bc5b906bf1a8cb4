package ai.taco.spark;

import ai.taco.core.CaptionEncoder;
import ai.taco.core.tensor.HostTensor;
import ai.taco.eval.bench.BenchmarkException;
import ai.taco.eval.codec.CodecSpec;
import ai.taco.eval.bench.TacoCodecs;
import ai.taco.eval.options.CodecOptions;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
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
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code taco-spark compress}: every image under a Hadoop path through TACO as one DataFrame job. Writes the table
 * {@code OUT/compressed.parquet} (one row per image, a failed image as a row with its error) and, unless
 * {@code --no-files}, one compressed file per image under {@code OUT/files/}.
 */
@Command(name = "compress", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Compresses every image under --in (any Hadoop path: local, hdfs://, s3a://) with TACO on Spark.")
public final class CompressJob implements Callable<Integer> {

  /** The table's name under --out. */
  public static final String TABLE = "compressed.parquet";

  /** The folder of per-image files under --out. */
  public static final String FILES = "files";

  /** Image file names binaryFile picks up (those {@code taco eval} reads). */
  static final String IMAGE_GLOB = "*.{png,jpg,jpeg,PNG,JPG,JPEG}";

  static final StructType SCHEMA = new StructType()
      .add("path", DataTypes.StringType, false)
      .add("caption", DataTypes.StringType, true)
      .add("height", DataTypes.IntegerType, true)
      .add("width", DataTypes.IntegerType, true)
      .add("bytes", DataTypes.LongType, true)
      .add("bpp", DataTypes.DoubleType, true)
      .add("sha256", DataTypes.StringType, true)
      .add("data", DataTypes.BinaryType, true)
      .add("format", DataTypes.StringType, true)
      .add("text_source", DataTypes.StringType, true)
      .add("error", DataTypes.StringType, true);

  @Spec CommandSpec spec;

  @Mixin SparkOptions sparkOptions;

  /** The codec, as {@code taco compress} takes it; every executor must be able to read the weights. */
  @Mixin CodecOptions codec;

  @Option(names = "--format", defaultValue = "taco", paramLabel = "FMT",
      description = "taco (container with checksums; default) or compressai (official TACO .bin).")
  String format;

  @Option(names = "--in", required = true, paramLabel = "PATH",
      description = "Folder (searched recursively) or glob of images; .png/.jpg/.jpeg are read.")
  String in;

  @Option(names = "--captions", paramLabel = "TABLE",
      description = "Captions by image file name: COCO captions .json, {\"file\": \"caption\"} .json, or a .csv/.parquet"
          + " with columns file_name|image|name|path and caption. Images without one get the caption \"\".")
  String captions;

  @Option(names = "--clip", paramLabel = "DIR", description = "CLIP ViT-B/32 folder: encodes the captions.")
  String clip;

  @Option(names = "--text-embeddings", paramLabel = "FILE",
      description = "Without --clip: safetensors with one [1,38,512] CLIP last_hidden_state per image file name.")
  String textEmbeddings;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder (any Hadoop path).")
  String out;

  @Option(names = "--no-files", description = "Only the table, no per-image files.")
  boolean noFiles;

  @Option(names = "--force", description = "Replace the table and files of an earlier run in --out.")
  boolean force;

  @Override
  public Integer call() {
    if (!format.equals("taco") && !format.equals("compressai")) {
      throw new IllegalArgumentException("unknown --format '" + format + "' (taco, compressai)");
    }
    long t0 = System.nanoTime();
    SparkSession spark = sparkOptions.session("taco-spark compress");
    HadoopFiles files = new HadoopFiles(spark);
    String table = HadoopFiles.child(out, TABLE);
    String filesDir = HadoopFiles.child(out, FILES);
    if (!force && (files.exists(table) || files.exists(filesDir))) {
      throw new BenchmarkException(out + " already holds " + TABLE + " or " + FILES + "/; use --force to replace them");
    }
    if (force) {
      files.delete(filesDir);
    }
    Dataset<Row> images = spark.read().format("binaryFile")
        .option("pathGlobFilter", IMAGE_GLOB)
        .option("recursiveFileLookup", "true")
        .load(in)
        .select(functions.col("path"), functions.col("content"),
            functions.element_at(functions.split(functions.col("path"), "/"), -1).as("name"));
    Dataset<Row> withCaptions = captions == null
        ? images.withColumn("caption", functions.lit(null).cast(DataTypes.StringType))
        : images.join(Captions.read(spark, captions), images.col("name").equalTo(functions.col("caption_key")),
            "left").drop("caption_key");
    long count = images.count();
    if (count == 0) {
      throw new BenchmarkException("no .png/.jpg/.jpeg images under " + in);
    }
    Settings s = new Settings(codec.spec(), format, clip, textEmbeddings,
        noFiles ? null : filesDir, files, sparkOptions.threadsPerTask(spark.sparkContext()), sparkOptions.failFirstAttemptOf);
    Dataset<Row> result = withCaptions
        .select("path", "name", "caption", "content")
        .repartition(sparkOptions.partitions(spark.sparkContext(), count))
        .mapPartitions(new CompressPartition(s), Encoders.row(SCHEMA));
    result.write().mode(force ? SaveMode.Overwrite : SaveMode.ErrorIfExists).parquet(table);
    Dataset<Row> written = spark.read().parquet(table);
    long errors = written.where(functions.col("error").isNotNull()).count();
    Row sums = written.agg(functions.count("path"), functions.sum("bytes")).first();
    ObjectNode j = new ObjectMapper().createObjectNode();
    j.put("in", in);
    j.put("table", table);
    j.put("files", noFiles ? null : filesDir);
    j.put("images", sums.getLong(0));
    j.put("errors", errors);
    j.put("bytes", sums.isNullAt(1) ? 0 : sums.getLong(1));
    j.put("seconds", (System.nanoTime() - t0) / 1e9);
    spec.commandLine().getOut().println(j.toPrettyString());
    spec.commandLine().getOut().flush();
    return 0;
  }

  /** What every task needs, sent once with the closure. */
  record Settings(CodecSpec codec, String format, String clip,
      String textEmbeddings, String filesDir, HadoopFiles files, int threadsPerTask, int failFirstAttemptOf)
      implements Serializable {}

  /** One partition: each image compressed, or an error row; never throws for a bad image. */
  static final class CompressPartition implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    /** Caption encoders per executor JVM, like the codecs. */
    private static final Map<String, CaptionEncoder> ENCODERS = new ConcurrentHashMap<>();

    private final Settings s;

    CompressPartition(Settings s) {
      this.s = s;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
      TaskSetup.beginTask(s.threadsPerTask(), s.failFirstAttemptOf());
      List<Row> out = new ArrayList<>();
      while (rows.hasNext()) {
        out.add(compressOne(rows.next()));
      }
      return out.iterator();
    }

    private Row compressOne(Row r) {
      String path = r.getString(0);
      String name = r.getString(1);
      String caption = r.isNullAt(2) ? null : r.getString(2);
      byte[] content = (byte[]) r.get(3);
      try {
        HostTensor x = CodecHolder.readImage(content, path);
        CaptionEncoder enc = encoder();
        String textSource = enc.source();
        HostTensor text;
        synchronized (enc) {
          // Not every caption source is documented as thread-safe; caption encoding is a small part of the work.
          text = enc.encodeTensor(name, caption == null ? "" : caption);
        }
        CodecHolder.Compressed c = CodecHolder.compress(CodecHolder.codec(s.codec()),
            x, text, s.format());
        byte[] file = c.file();
        if (s.filesDir() != null) {
          String ext = s.format().equals("taco") ? ".taco" : ".bin";
          s.files().write(HadoopFiles.child(s.filesDir(), HadoopFiles.stem(name) + ext), file);
        }
        return RowFactory.create(path, caption, c.height(), c.width(), (long) file.length,
            8.0 * file.length / ((double) c.height() * c.width()), sha256(file), file, s.format(), textSource, null);
      } catch (RuntimeException e) {
        // An error row keeps what identifies the input (path, caption) and why it failed; every result column is null.
        return RowFactory.create(path, caption, null, null, null, null, null, null, null, null, errorText(e));
      }
    }

    private CaptionEncoder encoder() {
      String key = s.clip() + "\u0000" + s.textEmbeddings();
      return ENCODERS.computeIfAbsent(key, k -> TacoCodecs.captionEncoder(false,
          s.clip() == null ? null : Path.of(s.clip()),
          s.textEmbeddings() == null ? null : Path.of(s.textEmbeddings())));
    }
  }

  /** The error column: the exception's type and message (which name the file). */
  static String errorText(Throwable e) {
    return e.getClass().getSimpleName() + ": " + e.getMessage();
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
  }
}
