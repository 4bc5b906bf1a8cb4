/** TACO-J as Apache Spark jobs: batch compression and decompression, and the paper's evaluation, distributed. */
package ai.taco.spark;
