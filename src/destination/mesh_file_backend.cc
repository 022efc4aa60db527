#include "destination/mesh_file_backend.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include "destination/mesh_file.h"

namespace lmesh::destination {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

MeshFileBackend::MeshFileBackend(event::Worker& worker, Store& store, DestinationMetrics& metrics,
                                 std::string path, std::chrono::milliseconds debounce)
    : store_(store),
      metrics_(metrics),
      path_(path),
      trim_(worker.loop(), [] { malloc_trim(0); }),
      watcher_(worker, std::move(path), debounce, [this] { reload(); }) {}

Result<void> MeshFileBackend::start() {
  // Watch first: an edit made while the first read runs is then not missed.
  if (auto ok = watcher_.start(); !ok) return fail(Error::wrap(ok.error(), "--mesh-file"));
  if (auto ok = load(); !ok) return ok;
  store_.set_ready();
  return {};
}

Result<void> MeshFileBackend::load() {
  Result<void> loaded = read_and_apply();
  // Parsing builds a large, short-lived tree (yaml-cpp's nodes, then JSON): tens of MiB for
  // 10,000 endpoints, freed in small pieces that glibc keeps in the heap. So does the fan-out
  // that follows (a pooled 16 KiB chunk per line per stream until it is written). Both are
  // handed back to the system now and once the fan-out is written, so the service's resident
  // size is its state, not its biggest reload (bench/destination).
  malloc_trim(0);
  trim_.arm(kTrimAfterFanOut);
  return loaded;
}

Result<void> MeshFileBackend::read_and_apply() {
  Clock::time_point start = Clock::now();
  auto text = read_mesh_file(path_);
  if (!text) {
    metrics_.reloaded(false, ms_since(start));
    return fail(text.error());
  }
  if (attempted_ && *text == last_text_) return {};  // touched, or written back unchanged
  attempted_ = true;
  last_text_ = *text;
  auto mesh = parse_mesh_file(*text, path_);
  double parse_ms = ms_since(start);
  if (!mesh) {
    metrics_.reloaded(false, parse_ms);
    return fail(mesh.error());
  }
  Clock::time_point applying = Clock::now();
  // Checked by the parser already.
  if (auto ok = store_.replace_all(std::move(mesh->services), std::move(mesh->pods)); !ok) {
    metrics_.reloaded(false, parse_ms);
    return fail(Error::wrap(ok.error(), path_));
  }
  metrics_.reloaded(true, parse_ms);
  spdlog::info(
      "mesh file loaded path={} services={} endpoints={} pods={} parse_ms={:.1f} apply_ms={:.1f}",
      path_, store_.service_count(), store_.endpoint_count(), store_.pods().size(), parse_ms,
      ms_since(applying));
  return {};
}

void MeshFileBackend::reload() {
  if (auto ok = load(); !ok) {
    spdlog::error("mesh file not loaded, still serving the last good state: {}",
                  ok.error().describe());
  }
}

}  // namespace lmesh::destination
