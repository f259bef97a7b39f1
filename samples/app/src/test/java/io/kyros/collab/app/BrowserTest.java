package io.kyros.collab.app;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * The base of the console's browser tests: one {@link ConsoleBrowser} shared by every browser test
 * of the run (Chromium starts once; each test starts its own server and opens its pages on it). It
 * lives in JUnit's root store, which quits it when the run ends.
 */
@ExtendWith(BrowserTest.SharedBrowser.class)
abstract class BrowserTest {
  ConsoleBrowser browser;

  @BeforeEach
  void useBrowser(ConsoleBrowser shared) {
    browser = shared;
  }

  /** Resolves the run's one {@link ConsoleBrowser}, started on first use. */
  static final class SharedBrowser implements ParameterResolver {
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(SharedBrowser.class);

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
      return parameter.getParameter().getType() == ConsoleBrowser.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
      return context.getRoot().getStore(NAMESPACE).getOrComputeIfAbsent(ConsoleBrowser.class, k -> {
        try {
          return ConsoleBrowser.start();
        } catch (IOException e) {
          throw new UncheckedIOException("cannot make Chromium's profile directory", e);
        }
      }, ConsoleBrowser.class);
    }
  }
}
