package io.kyros.collab.file;

import static java.nio.charset.StandardCharsets.US_ASCII;

import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * Checksummed JSON lines. A framed line is a JSON object whose last member is
 * {@code "crc32c":"xxxxxxxx"}: eight lower-case hex digits of the CRC32C of every byte of the line
 * before {@code ,"crc32c":}, followed by {@code \n}. The line stays valid JSON for {@code jq}, and
 * the checksum sits at a fixed distance from the end, so it is checked without parsing.
 */
final class Lines {
  private static final byte[] SUFFIX = ",\"crc32c\":\"".getBytes(US_ASCII);
  /** Length of {@code ,"crc32c":"xxxxxxxx"}} (without the newline). */
  static final int SUFFIX_LENGTH = SUFFIX.length + 8 + 2;
  private static final byte[] HEX = "0123456789abcdef".getBytes(US_ASCII);

  private Lines() {}

  /**
   * @param object a compact JSON object with at least one member, {@code {...}}
   * @return the framed line, ending in a newline
   */
  static byte[] frame(byte[] object) {
    int body = object.length - 1; // drop the closing brace
    byte[] line = Arrays.copyOf(object, body + SUFFIX_LENGTH + 1);
    System.arraycopy(SUFFIX, 0, line, body, SUFFIX.length);
    int crc = crc(object, 0, body);
    int at = body + SUFFIX.length;
    for (int i = 7; i >= 0; i--) {
      line[at + i] = HEX[crc & 0xf];
      crc >>>= 4;
    }
    line[at + 8] = '"';
    line[at + 9] = '}';
    line[at + 10] = '\n';
    return line;
  }

  /**
   * Checks a framed line.
   *
   * @param buf the bytes
   * @param from the line's first byte
   * @param to the index of the line's newline (exclusive end of the JSON)
   * @return true if the suffix is well formed and the checksum matches
   */
  static boolean verify(byte[] buf, int from, int to) {
    if (!hasSuffix(buf, from, to)) {
      return false;
    }
    int body = to - SUFFIX_LENGTH;
    if (buf[to - 2] != '"' || buf[to - 1] != '}') {
      return false;
    }
    int expected = 0;
    for (int i = body + SUFFIX.length; i < to - 2; i++) {
      int d = Character.digit(buf[i], 16);
      if (d < 0 || Character.isUpperCase(buf[i])) {
        return false;
      }
      expected = (expected << 4) | d;
    }
    return crc(buf, from, body - from) == expected;
  }

  /**
   * @param buf the bytes
   * @param from the first byte
   * @param to the exclusive end, trailing whitespace allowed
   * @return true if the bytes end like a framed line ({@code ,"crc32c":"} eight characters from the
   *     end), whether or not the checksum matches
   */
  static boolean isFramed(byte[] buf, int from, int to) {
    while (to > from && Character.isWhitespace(buf[to - 1])) {
      to--;
    }
    return hasSuffix(buf, from, to);
  }

  /** @return whether {@code ,"crc32c":"} sits where a framed line ending at {@code to} has it */
  private static boolean hasSuffix(byte[] buf, int from, int to) {
    int body = to - SUFFIX_LENGTH;
    if (body <= from) {
      return false;
    }
    for (int i = 0; i < SUFFIX.length; i++) {
      if (buf[body + i] != SUFFIX[i]) {
        return false;
      }
    }
    return true;
  }

  /**
   * @param buf the bytes
   * @param b the byte to find
   * @param from the first index to look at
   * @param to the exclusive end
   * @return the index of the first {@code b} in {@code [from, to)}, or -1
   */
  static int indexOf(byte[] buf, byte b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (buf[i] == b) {
        return i;
      }
    }
    return -1;
  }

  private static int crc(byte[] buf, int from, int length) {
    CRC32C crc = new CRC32C();
    crc.update(buf, from, length);
    return (int) crc.getValue();
  }
}
