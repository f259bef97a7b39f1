package io.kyros.collab.file;

/**
 * Times {@code Codec.requireEmbeddable}, the check the file store makes of every value and event's
 * details since session 39, on a canonical JSON object of about 1 KB: 5 rounds of 200,000 calls, printing the
 * microseconds per call. A plain loop, not JMH: an order of magnitude, to compare with a durable write's time.
 * Compiled apart from the build, into the package of the (package-private) codec; see README.md.
 */
public final class ValueCheckLoop {
  private ValueCheckLoop() {}

  /**
   * @param args none
   */
  public static void main(String[] args) {
    StringBuilder sb = new StringBuilder("{");
    for (int i = 0; i < 30; i++) {
      sb.append(i > 0 ? "," : "").append("\"field").append(String.format("%02d", i)).append("\":\"value-").append(i)
          .append("-abcdefghij\"");
    }
    String json = sb.append('}').toString();
    System.out.println("value of " + json.length() + " characters");
    for (int round = 0; round < 5; round++) {
      long t = System.nanoTime();
      for (int i = 0; i < 200_000; i++) {
        Codec.requireEmbeddable(json, "the value");
      }
      System.out.printf("round %d: %.2f us per value%n", round, (System.nanoTime() - t) / 1e3 / 200_000);
    }
  }
}
