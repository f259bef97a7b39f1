package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;

/** What a keep-alive logs when a renewal fails: a retry warning only while it is open. */
@Timeout(120)
class KeepAliveLoggingTest {

  /** A store whose commits, once {@link #block} is set, wait in the renewal until told to fail. */
  static final class FailingStorage extends ForwardingStorage {
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch proceed = new CountDownLatch(1);
    volatile boolean block;

    @Override
    public CommitResult commit(Commit commit) {
      if (block) {
        entered.countDown();
        try {
          proceed.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        throw new StorageException("the connection was closed under the renewal");
      }
      return delegate.commit(commit);
    }
  }

  /** One call to the logger: its level method and its message pattern. */
  record Logged(String level, String pattern) {}

  private final FailingStorage storage = new FailingStorage();
  private final Collab collab = Collab.builder().storage(storage).holder("alice").build();
  private final ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(1);
  private final List<Logged> logged = new CopyOnWriteArrayList<>();
  private final CountDownLatch warned = new CountDownLatch(1);
  /** A logger recording every logging call, all levels enabled. */
  private final Logger recorder = (Logger) Proxy.newProxyInstance(Logger.class.getClassLoader(),
      new Class<?>[] {Logger.class}, (proxy, method, args) -> {
        if (method.getReturnType() == boolean.class) {
          return true;
        }
        if (method.getReturnType() == String.class) {
          return "recorder";
        }
        if (args != null && args.length > 0 && args[0] instanceof String pattern) {
          logged.add(new Logged(method.getName(), pattern));
          if (method.getName().equals("warn")) {
            warned.countDown();
          }
        }
        return null;
      });

  @AfterEach
  void close() {
    storage.proceed.countDown();
    scheduler.shutdownNow();
    collab.close();
    storage.close();
  }

  /** Starts a keep-alive logging to the recorder, and returns once its first renewal is in the storage. */
  private KeepAlive renewalInFlight() throws InterruptedException {
    Lease lease = collab.leases().tryAcquire("job", Duration.ofSeconds(30)).orElseThrow();
    storage.block = true;
    KeepAlive keepAlive = KeepAlive.create(collab.leases(), lease, Duration.ofMillis(5), Duration.ofSeconds(30),
        k -> {}, recorder);
    keepAlive.start(new KeepAlive.Schedulers(scheduler, scheduler));
    assertThat(storage.entered.await(60, TimeUnit.SECONDS)).as("a renewal reached the storage").isTrue();
    return keepAlive;
  }

  @Test
  void aRenewalFailingAfterCloseIsNotLoggedAsRetried() throws Exception {
    KeepAlive keepAlive = renewalInFlight();
    keepAlive.close();
    storage.proceed.countDown();
    scheduler.shutdown();
    assertThat(scheduler.awaitTermination(60, TimeUnit.SECONDS)).as("the renewal in flight finished").isTrue();
    assertThat(logged).extracting(Logged::level).doesNotContain("warn");
    assertThat(logged).containsExactly(new Logged("debug", "renewal of lease on {} ended by the keep-alive's end: {}"));
    assertThat(keepAlive.isLost()).isFalse();
  }

  @Test
  void theSameFailureWhileOpenIsLoggedAsRetried() throws Exception {
    KeepAlive keepAlive = renewalInFlight();
    storage.block = false;
    storage.proceed.countDown();
    assertThat(warned.await(60, TimeUnit.SECONDS)).isTrue();
    assertThat(logged).contains(new Logged("warn", "renewal of lease on {} failed, retrying: {}"));
    assertThat(keepAlive.isLost()).isFalse();
    keepAlive.close();
  }
}
