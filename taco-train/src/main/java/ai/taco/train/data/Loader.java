package ai.taco.train.data;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import javax.imageio.ImageIO;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shuffled, cropped batches decoded in parallel with bounded prefetch.
 *
 * <p><b>Reproducibility:</b> everything random is derived from {@code (seed, epoch)} (the permutation) or
 * {@code (seed, epoch, dataset index)} (crop offsets, caption choice), never from a shared generator, so the batches
 * do not depend on thread scheduling or on the number of threads, and a run resumed at any batch boundary sees the
 * same data as an uninterrupted one. Each epoch has its own permutation (the official code, which never calls
 * {@code DistributedSampler.set_epoch}, repeats one permutation every epoch).
 *
 * <p><b>Corrupt or unreadable images</b> are skipped with a warning, counted ({@link #skippedImages()}), remembered,
 * and never stop training; the batch is filled with the next images of the permutation. As in train.py
 * ({@code drop_last=True}), a last incomplete batch is dropped.
 */
public final class Loader implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Loader.class);

  /**
   * @param threads decoding threads
   * @param prefetchBatches how many batches may be decoded ahead of the consumer (bounds memory)
   */
  public record Options(RandomCrop crop, int batchSize, long seed, int threads, int prefetchBatches) {
    public Options {
      if (batchSize <= 0 || threads <= 0 || prefetchBatches <= 0) {
        throw new IllegalArgumentException("batchSize, threads and prefetchBatches must be positive");
      }
    }
  }

  private record Sample(String name, float[] chw, String caption) {}

  private final CaptionedDataset dataset;
  private final Options options;
  private final ExecutorService pool;
  private final Set<Path> bad = ConcurrentHashMap.newKeySet();
  private final AtomicInteger skipped = new AtomicInteger();

  public Loader(CaptionedDataset dataset, Options options) {
    this.dataset = dataset;
    this.options = options;
    AtomicInteger n = new AtomicInteger();
    this.pool =
        Executors.newFixedThreadPool(
            options.threads(),
            r -> {
              Thread t = new Thread(r, "taco-loader-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
  }

  /** Full batches per epoch if no image is corrupt. */
  public long batchesPerEpoch() {
    return dataset.size() / options.batchSize();
  }

  /** Number of distinct images found corrupt so far. */
  public int skippedImages() {
    return skipped.get();
  }

  /** The dataset index visited at {@code position} of epoch {@code epoch}'s permutation. */
  int[] permutation(int epoch) {
    int n = dataset.size();
    int[] perm = new int[n];
    for (int i = 0; i < n; i++) {
      perm[i] = i;
    }
    SplittableRandom rng = new SplittableRandom(mix(options.seed(), epoch, -1));
    for (int i = n - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      int t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    return perm;
  }

  /** Batches of one epoch, starting {@code startPosition} entries into its permutation (0 for a fresh epoch). */
  public Iterator<ImageTextBatch> epoch(int epoch, long startPosition) {
    return new EpochIterator(epoch, permutation(epoch), (int) startPosition);
  }

  /** splitmix64-style mixing of the seed with the epoch and the sample index. */
  static long mix(long seed, long epoch, long index) {
    long z = seed * 0x9E3779B97F4A7C15L;
    z = finalizer(z ^ (epoch + 0x632BE59BD9B4E019L));
    z = finalizer(z ^ (index * 0xBF58476D1CE4E5B9L + 0x94D049BB133111EBL));
    return z;
  }

  private static long finalizer(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private Sample load(int epoch, int index) {
    CaptionedImage item = dataset.images().get(index);
    if (bad.contains(item.path())) {
      return null;
    }
    SplittableRandom rng = new SplittableRandom(mix(options.seed(), epoch, index));
    String caption = item.captions().isEmpty() ? "" : item.captions().get(rng.nextInt(item.captions().size()));
    try {
      BufferedImage img = ImageIO.read(item.path().toFile());
      if (img == null) {
        throw new IOException("not an image format javax.imageio can read");
      }
      return new Sample(item.path().getFileName().toString(), options.crop().apply(img, rng), caption);
    } catch (IOException | RuntimeException e) {
      if (bad.add(item.path())) {
        skipped.incrementAndGet();
        LOG.warn("skipping unreadable image {} ({}); {} skipped so far", item.path(), e, skipped.get());
      }
      return null;
    }
  }

  private final class EpochIterator implements Iterator<ImageTextBatch> {
    private final int epoch;
    private final int[] perm;
    private final ArrayDeque<Future<Sample>> pending = new ArrayDeque<>();
    private int submitted;
    private int consumed;
    private ImageTextBatch next;
    private boolean done;

    EpochIterator(int epoch, int[] perm, int start) {
      if (start < 0 || start > perm.length) {
        throw new IllegalArgumentException("start position " + start + " outside the epoch (0.." + perm.length + ")");
      }
      this.epoch = epoch;
      this.perm = perm;
      this.submitted = start;
      this.consumed = start;
    }

    private void fill() {
      int window = options.batchSize() * options.prefetchBatches();
      while (pending.size() < window && submitted < perm.length) {
        int index = perm[submitted++];
        pending.add(pool.submit(() -> load(epoch, index)));
      }
    }

    @Override
    public boolean hasNext() {
      if (next == null && !done) {
        next = compute();
        done = next == null;
      }
      return next != null;
    }

    @Override
    public ImageTextBatch next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      ImageTextBatch b = next;
      next = null;
      return b;
    }

    private ImageTextBatch compute() {
      RandomCrop crop = options.crop();
      int bs = options.batchSize();
      int plane = 3 * crop.height() * crop.width();
      float[] pixels = new float[bs * plane];
      List<String> names = new ArrayList<>(bs);
      List<String> captions = new ArrayList<>(bs);
      while (names.size() < bs) {
        fill();
        Future<Sample> f = pending.poll();
        if (f == null) {
          return null; // drop_last: not enough images left for a full batch
        }
        Sample s;
        try {
          s = f.get();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while loading images", e);
        } catch (ExecutionException e) {
          throw new IllegalStateException("image loading failed", e.getCause());
        }
        consumed++;
        if (s == null) {
          continue;
        }
        System.arraycopy(s.chw(), 0, pixels, names.size() * plane, plane);
        names.add(s.name());
        captions.add(s.caption());
      }
      return new ImageTextBatch(epoch, consumed, pixels, bs, crop.height(), crop.width(), names, captions);
    }
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
