// The mesh file as a backend: read at start (a missing or bad file stops the service), then
// again whenever it changes (FileWatcher). A reload that fails is logged with its file, line
// and field, counted as destination_reload_total{result="error"}, and changes nothing: the last
// good state keeps serving and no follower hears anything.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/event/timer.h"
#include "common/event/worker.h"
#include "common/result.h"
#include "destination/backend.h"
#include "destination/destination_metrics.h"
#include "destination/file_watcher.h"
#include "destination/store.h"

namespace lmesh::destination {

inline constexpr std::chrono::milliseconds kTrimAfterFanOut{500};

class MeshFileBackend final : public Backend {
 public:
  // `store` and `metrics` must outlive the backend.
  MeshFileBackend(event::Worker& worker, Store& store, DestinationMetrics& metrics,
                  std::string path, std::chrono::milliseconds debounce);

  Result<void> start() override;
  std::string_view name() const override { return "mesh-file"; }

  // Reads, checks and applies the file now. Errors leave the store as it was.
  Result<void> load();

 private:
  Result<void> read_and_apply();
  void reload();

  Store& store_;
  DestinationMetrics& metrics_;
  std::string path_;
  std::string last_text_;  // of the last attempt, good or bad: an unchanged file is not re-read
  bool attempted_ = false;
  event::Timer trim_;  // returns the memory of a reload's fan-out once it is written
  FileWatcher watcher_;
};

}  // namespace lmesh::destination
