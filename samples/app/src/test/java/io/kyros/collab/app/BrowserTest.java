package io.kyros.collab.app;

import java.io.IOException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/**
 * The base of the console's browser tests: one {@link ConsoleBrowser} for all tests of a class
 * (each test starts its own server), quit after the last.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class BrowserTest {
  ConsoleBrowser browser;

  @BeforeAll
  void startBrowser() throws IOException {
    browser = ConsoleBrowser.start();
  }

  @AfterAll
  void stopBrowser() {
    if (browser != null) {
      browser.close();
    }
  }
}
