package io.kyros.collab.app;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * A real headless Chromium driven by Selenium, for the console's browser tests.
 *
 * <p>It runs Debian's {@code chromium} and {@code chromium-driver} ({@code /usr/bin/chromium},
 * {@code /usr/bin/chromedriver}; {@code COLLAB_CHROMIUM} and {@code COLLAB_CHROMEDRIVER} name others),
 * given to Selenium explicitly so that Selenium Manager never runs (it would try to download a
 * driver; the build machines have no network). Without them the test fails with a message saying
 * what to install, unless {@code COLLAB_SKIP_BROWSER_TESTS=1} is set: then the browser tests are
 * skipped. CI installs both ({@code .ci/run}) and runs the tests.
 *
 * <p>Chromium runs headless, without sandbox (CI runs as root), with a fresh profile and none of its
 * background network traffic (the closed network would stall it). Waits are explicit
 * ({@link WebDriverWait}), never sleeps. Not thread-safe: one test thread drives it ({@link BrowserTest}
 * shares one per run).
 */
final class ConsoleBrowser implements ExtensionContext.Store.CloseableResource, AutoCloseable {
  /** The longest any one condition is waited for. */
  static final Duration WAIT = Duration.ofSeconds(20);
  private static final Path SCREENSHOTS = Path.of("target", "screenshots");

  private final ChromeDriver driver;
  private final Path profile;
  private final WebDriverWait wait;

  private ConsoleBrowser(ChromeDriver driver, Path profile) {
    this.driver = driver;
    this.profile = profile;
    this.wait = new WebDriverWait(driver, WAIT);
  }

  /**
   * Starts Chromium, or fails (skips with {@code COLLAB_SKIP_BROWSER_TESTS=1}) when it is missing.
   *
   * @return the browser
   * @throws IOException if the profile directory cannot be made
   */
  static ConsoleBrowser start() throws IOException {
    Path chromium = Path.of(env("COLLAB_CHROMIUM", "/usr/bin/chromium"));
    Path chromedriver = Path.of(env("COLLAB_CHROMEDRIVER", "/usr/bin/chromedriver"));
    if (!Files.isExecutable(chromium) || !Files.isExecutable(chromedriver)) {
      String why = "the console's browser tests need Chromium and its driver: " + chromium
          + (Files.isExecutable(chromium) ? " found" : " is missing") + ", " + chromedriver
          + (Files.isExecutable(chromedriver) ? " found" : " is missing")
          + ". Install them (Debian: apt-get install -y chromium chromium-driver), point COLLAB_CHROMIUM and "
          + "COLLAB_CHROMEDRIVER at others, or set COLLAB_SKIP_BROWSER_TESTS=1 to skip these tests";
      Assumptions.assumeFalse("1".equals(System.getenv("COLLAB_SKIP_BROWSER_TESTS")), why);
      Assertions.fail(why);
    }
    Path profile = Files.createTempDirectory("collab-chromium-");
    ChromeOptions options = new ChromeOptions();
    options.setBinary(chromium.toFile());
    options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1600,1000", "--user-data-dir=" + profile);
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(chromedriver.toFile())
        .usingAnyFreePort()
        .build();
    try {
      return new ConsoleBrowser(new ChromeDriver(service, options), profile);
    } catch (RuntimeException e) {
      deleteTree(profile);
      throw e;
    }
  }

  private static String env(String name, String otherwise) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? otherwise : v;
  }

  /** Opens a console page ({@code "tasks"}, {@code "leases"}...) of a server and waits for the live feed. */
  void open(URI server, String page) {
    driver.get(server + "/#/" + page);
    waitForText("live-status", "live");
  }

  /** Goes to another page of the open console without reloading it. */
  void go(String page) {
    find("nav-" + page).click();
  }

  WebDriver driver() {
    return driver;
  }

  static By testId(String id) {
    return By.cssSelector("[data-testid=\"" + id + "\"]");
  }

  /** Waits until an element with this data-testid is visible, and returns it. */
  WebElement find(String id) {
    return wait.until(ExpectedConditions.visibilityOfElementLocated(testId(id)));
  }

  /** Waits until an element with this data-testid is inside the element with the other one. */
  WebElement findIn(String containerId, String id) {
    return wait.until(ExpectedConditions.presenceOfNestedElementLocatedBy(testId(containerId), testId(id)));
  }

  /** @return the elements with this data-testid now (no waiting) */
  List<WebElement> all(String id) {
    return driver.findElements(testId(id));
  }

  /** @return the elements whose data-testid starts with this prefix now (no waiting) */
  List<WebElement> allStartingWith(String prefix) {
    return driver.findElements(By.cssSelector("[data-testid^=\"" + prefix + "\"]"));
  }

  void waitForText(String id, String text) {
    wait.until(ExpectedConditions.textToBePresentInElementLocated(testId(id), text));
  }

  void waitUntilGone(String id) {
    wait.until(ExpectedConditions.invisibilityOfElementLocated(testId(id)));
  }

  <T> T until(Function<WebDriver, T> condition) {
    return wait.until(condition);
  }

  Object script(String js, Object... args) {
    return ((JavascriptExecutor) driver).executeScript(js, args);
  }

  /** Writes a PNG of the window to {@code target/screenshots/<name>.png}. */
  Path screenshot(String name) throws IOException {
    Files.createDirectories(SCREENSHOTS);
    File png = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE);
    Path to = SCREENSHOTS.resolve(name + ".png");
    Files.copy(png.toPath(), to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.deleteIfExists(png.toPath());
    return to;
  }

  @Override
  public void close() {
    try {
      driver.quit();
    } finally {
      deleteTree(profile);
    }
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + root, e);
    }
  }
}
