#include "oci/pull_progress.h"

#include <doctest/doctest.h>

using namespace ctk::oci;

TEST_CASE("pull progress rows") {
  BlobRow row;
  row.name = "0123456789ab";
  row.size = 4 << 20;
  CHECK(format_row(row) == "0123456789ab: waiting");

  // 1 MiB resumed, 1 MiB fetched in 0.5 s: 2 MiB/s, 2 MiB left: ETA 1s.
  row.phase = BlobRow::kDownloading;
  row.resumed = 1 << 20;
  row.done = 2 << 20;
  row.seconds = 0.5;
  CHECK(format_row(row) == "0123456789ab: downloading 50%  2.0 MiB / 4.0 MiB  2.0 MiB/s  ETA 1s");

  // Nothing arrived yet: no rate, so no ETA either.
  row.done = row.resumed;
  row.seconds = 0;
  CHECK(format_row(row) == "0123456789ab: downloading 25%  1.0 MiB / 4.0 MiB  0 B/s  ETA -");

  row.phase = BlobRow::kDone;
  CHECK(format_row(row) == "0123456789ab: done 4.0 MiB (resumed at 1.0 MiB)");
  row.resumed = 0;
  CHECK(format_row(row) == "0123456789ab: done 4.0 MiB");
  row.phase = BlobRow::kPresent;
  CHECK(format_row(row) == "0123456789ab: already present");

  row.phase = BlobRow::kDownloading;
  row.size = 0;
  row.done = 0;
  CHECK(format_row(row) == "0123456789ab: downloading 100%  0 B / 0 B  0 B/s");
}
