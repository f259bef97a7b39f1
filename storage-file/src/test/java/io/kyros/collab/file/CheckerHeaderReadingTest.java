package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Iterator;
import org.junit.jupiter.api.Test;

/**
 * The checker reads the lock header a second time when a reading fails: a read overlapping the writer's
 * in-place rewrite can be torn although the file is healthy (the flake CI saw in
 * {@link ReviewCheckWhileWritingTest}). Torn readings are built here byte by byte, so each case is exact.
 */
class CheckerHeaderReadingTest {
  private static byte[] header(long revision, long eventId, long journal) {
    // the bytes LockFile.writeHeader writes
    byte[] line = Lines.frame(Codec.encodeHeader(revision, eventId, journal, "boot"));
    byte[] header = new byte[LockFile.HEADER_BYTES];
    Arrays.fill(header, (byte) ' ');
    System.arraycopy(line, 0, header, 0, line.length - 1);
    header[LockFile.HEADER_BYTES - 1] = '\n';
    return header;
  }

  /** The first {@code cut} bytes of the newer header over the older one: a read overlapping the rewrite. */
  private static byte[] torn(byte[] older, byte[] newer, int cut) {
    byte[] out = older.clone();
    System.arraycopy(newer, 0, out, 0, cut);
    return out;
  }

  private static Checker.HeaderReading read(byte[]... readings) throws Exception {
    Iterator<byte[]> queue = Arrays.asList(readings).iterator(); // null: the file does not exist
    Checker.HeaderReading reading = Checker.readHeader(queue::next);
    assertThat(queue.hasNext()).as("readings left unread").isFalse();
    return reading;
  }

  @Test
  void aHealthyHeaderIsReadOnce() throws Exception {
    Checker.HeaderReading reading = read(header(44, 9, 1830));
    assertThat(reading.damaged()).isFalse();
    assertThat(reading.header().revision()).isEqualTo(44);
    assertThat(reading.header().eventId()).isEqualTo(9);
    assertThat(reading.header().journal()).isEqualTo(1830);
  }

  @Test
  void aTornReadingIsReadAgainAndTheSecondReadingIsUsed() throws Exception {
    byte[] older = header(44, 9, 1830);
    byte[] newer = header(45, 10, 1991);
    byte[] torn = torn(older, newer, 20);
    assertThat(LockFile.decodeHeader(torn, torn.length)).as("the torn reading fails its checksum").isNull();

    Checker.HeaderReading reading = read(torn, newer);

    assertThat(reading.damaged()).isFalse();
    assertThat(reading.header().revision()).isEqualTo(45);
  }

  @Test
  void twoDifferentFailingReadingsAreAWriterAtWorkNotDamage() throws Exception {
    byte[] a = header(44, 9, 1830);
    byte[] b = header(45, 10, 1991);
    byte[] c = header(46, 11, 2200);

    Checker.HeaderReading reading = read(torn(a, b, 20), torn(b, c, 30));

    assertThat(reading.damaged()).isFalse();
    assertThat(reading.header()).as("neither reading is trusted").isNull();
  }

  @Test
  void theSameFailingBytesTwiceAreDamage() throws Exception {
    byte[] damaged = header(44, 9, 1830);
    damaged[12] ^= 0x01;

    Checker.HeaderReading reading = read(damaged, damaged.clone());

    assertThat(reading.damaged()).isTrue();
    assertThat(reading.header()).isNull();
  }

  @Test
  void aMissingOrEmptyFileIsNoHeaderAndNoDamage() throws Exception {
    assertThat(read((byte[]) null)).isEqualTo(new Checker.HeaderReading(null, false));
    assertThat(read(new byte[0])).isEqualTo(new Checker.HeaderReading(null, false));
  }
}
