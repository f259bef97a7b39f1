package io.kyros.collab.benchmarks;

import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.EventFilter;
import io.kyros.collab.EventListener;
import io.kyros.collab.Subscription;
import io.kyros.collab.file.FileStorage;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The subscriber of {@link TailLatencyBenchmark}'s {@code FILE_OTHER_PROCESS} case, run as a child JVM: it opens the
 * file store with its own {@link FileStorage}, subscribes to every event after a given id, prints {@link #READY},
 * then prints each delivered event's id on a line of its own, flushed at once. It exits when its stdin ends (the
 * benchmark closed it, or died).
 */
public final class TailSubscriberProcess {
  /** The line printed once the subscription is running. */
  public static final String READY = "ready";

  private TailSubscriberProcess() {}

  /**
   * @param args the store's directory and the event id to subscribe after
   * @throws IOException if stdin or stdout fails
   */
  public static void main(String[] args) throws IOException {
    if (args.length != 2) {
      System.err.println("usage: TailSubscriberProcess <store directory> <after id>");
      System.exit(2);
    }
    OutputStream out = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 64);
    try (FileStorage storage = FileStorage.open(Path.of(args[0]));
        Collab collab = Collab.builder().storage(storage).holder("bench-subscriber").build()) {
      Subscription subscription = collab.events().subscribe(Long.parseLong(args[1]), EventFilter.all(),
          new EventListener() {
            @Override
            public void onEvent(Event event) {
              write(out, Long.toString(event.id()));
            }

            @Override
            public void onError(Throwable error) {
              error.printStackTrace();
              System.exit(1); // stdout ends, and the benchmark fails with a message
            }
          });
      write(out, READY);
      while (System.in.read() >= 0) {
        // wait for the end of stdin
      }
      subscription.close();
    }
  }

  private static void write(OutputStream out, String line) {
    try {
      out.write((line + "\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
