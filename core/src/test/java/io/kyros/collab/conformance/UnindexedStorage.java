package io.kyros.collab.conformance;

import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.Storage;
import java.util.List;

/**
 * A storage that forwards to another one but says it keeps no indexes ({@link Storage#indexes()} false), as a
 * third-party backend may: core then takes its generic path (whole-collection scans) and its writes carry no index
 * entries. Also what stores written before the index format looked like. Test code only; thread-safe.
 */
public class UnindexedStorage extends InterceptingStorage {

  /**
   * @param delegate the storage whose records are used
   */
  public UnindexedStorage(Storage delegate) {
    super(delegate);
  }

  @Override
  public boolean indexes() {
    return false;
  }

  @Override
  public List<IndexHit> scanIndex(IndexQuery query) {
    throw new UnsupportedOperationException("UnindexedStorage keeps no indexes");
  }

  @Override
  public List<List<IndexHit>> scanIndexes(List<IndexQuery> queries) {
    throw new UnsupportedOperationException("UnindexedStorage keeps no indexes");
  }
}
