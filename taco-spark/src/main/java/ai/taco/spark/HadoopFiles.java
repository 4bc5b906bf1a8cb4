package ai.taco.spark;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

/**
 * The driver's Hadoop configuration carried to the executors (so they write to HDFS/S3 with the same settings), and
 * whole-file writes through it.
 */
final class HadoopFiles implements Serializable {
  private static final long serialVersionUID = 1L;

  private final HashMap<String, String> entries = new HashMap<>();
  private transient Configuration conf;

  HadoopFiles(SparkSession spark) {
    for (Map.Entry<String, String> e : spark.sparkContext().hadoopConfiguration()) {
      entries.put(e.getKey(), e.getValue());
    }
  }

  Configuration conf() {
    if (conf == null) {
      Configuration c = new Configuration(false);
      entries.forEach(c::set);
      conf = c;
    }
    return conf;
  }

  /** Writes (replaces) one file: a retried task writes the same bytes again. */
  void write(String file, byte[] bytes) {
    Path p = new Path(file);
    try {
      FileSystem fs = p.getFileSystem(conf());
      // No .crc side files on the local file system: the files are read by other tools too.
      fs.setWriteChecksum(false);
      try (FSDataOutputStream out = fs.create(p, true)) {
        out.write(bytes);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  boolean exists(String file) {
    Path p = new Path(file);
    try {
      return p.getFileSystem(conf()).exists(p);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot check " + file + ": " + e.getMessage(), e);
    }
  }

  /** Whether {@code dir} is a Parquet table written by Spark (a _SUCCESS marker or .parquet files in it). */
  boolean isParquetTable(String dir) {
    Path p = new Path(dir);
    try {
      FileSystem fs = p.getFileSystem(conf());
      if (!fs.getFileStatus(p).isDirectory()) {
        return false;
      }
      if (fs.exists(new Path(p, "_SUCCESS"))) {
        return true;
      }
      for (var s : fs.listStatus(p)) {
        if (s.getPath().getName().endsWith(".parquet")) {
          return true;
        }
      }
      return false;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Removes a file or folder tree if it exists (for --force). */
  void delete(String path) {
    Path p = new Path(path);
    try {
      FileSystem fs = p.getFileSystem(conf());
      if (fs.exists(p)) {
        fs.delete(p, true);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove " + path + ": " + e.getMessage(), e);
    }
  }

  /** The file name of a path or URI (its last segment). */
  static String fileName(String path) {
    return new Path(path).getName();
  }

  /** The name without its last extension. */
  static String stem(String name) {
    int dot = name.lastIndexOf('.');
    return dot <= 0 ? name : name.substring(0, dot);
  }

  /** {@code dir/name} on any Hadoop file system. */
  static String child(String dir, String name) {
    return new Path(dir, name).toString();
  }
}
